import { describe, expect, it } from 'vitest';
import { testEnv } from '../../test/support/runtime-fixtures.js';
import type { WorkerEnv } from '../objects.js';
import type { IngressCall } from './channel.js';
import { handOver } from './ingress-request.js';

describe('hand-over within the provider deadline', () => {
  it('a message the channel object has not taken by the deadline goes on the ingress queue, and the webhook answers', async () => {
    const queued: unknown[] = [];
    const pending: Promise<unknown>[] = [];
    const env = {
      ...testEnv,
      // An object that never answers (overloaded, or stuck behind a long turn).
      CHANNEL: { idFromName: (name: string) => name, get: () => ({ accept: () => new Promise(() => {}) }) },
      INGRESS: { send: async (body: unknown) => void queued.push(body) },
    } as unknown as WorkerEnv;
    const call: IngressCall = {
      request: new Request('https://runner.test/'),
      env,
      tenant: 'slow-object',
      team: undefined,
      receivedAt: Date.now(),
      waitUntil: (p) => void pending.push(p),
    };
    const message = { channel: 'slack', id: 'Ev1', user: 'U1', anchor: 'C1', scope: { conversation: 'C1' }, text: 'hi' };
    await handOver(call, message, 'slack:Ev1', Date.now() + 20);
    expect(queued).toMatchObject([{ idempotency_key: 'slack:Ev1', envelope: { channel: 'slack', text: 'hi' } }]);
    expect(pending).toHaveLength(1);
  });
});
