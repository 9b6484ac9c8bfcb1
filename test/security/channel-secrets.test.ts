// Provider credentials under slack/, teams/, telegram/ and whatsapp/ belong to the runtime's
// channel adapters: a component never reads or writes them, even when its manifest declares them.
import { describe, expect, it } from 'vitest';
import { createHostApi, grantsFor, operatorSecretKey } from '../../src/component/edge/host-policy.js';
import { memoryKeyValueStore } from '../support/memory-stores.js';

const scope = { env: 'dev', tenant: 'acme', team: 'support', pack: 'p1', component: 'c1' };
const RESERVED = ['slack/bot_token', 'slack/signing_secret', 'teams/app_password', 'telegram/bot_token', 'whatsapp/access_token'];

describe('runtime-reserved provider secrets', () => {
  it('a component that declares a provider credential still cannot read or write it', async () => {
    const secrets = memoryKeyValueStore();
    for (const key of RESERVED) await secrets.put(operatorSecretKey(scope, key), new TextEncoder().encode(`value of ${key}`));
    const grants = grantsFor(
      { capabilities: { host: { secrets: { required: RESERVED.map((key) => ({ key })), writable: ['slack/bot_token'] } } } },
      { httpAllowHosts: [] },
    );
    const api = createHostApi(scope, grants, {
      state: memoryKeyValueStore(),
      secrets,
      http: async () => new Response('x'),
      telemetry: { log: () => {} },
    });
    for (const key of RESERVED) {
      const read = await api.secretsGet(key);
      expect(read.ok, key).toBe(false);
      expect(!read.ok && read.error, key).toMatchObject({ code: 'denied', message: expect.stringContaining('reserved for the runtime') });
    }
    const write = await api.secretsPut('slack/bot_token', new TextEncoder().encode('stolen'));
    expect(write).toMatchObject({ ok: false, error: { code: 'denied' } });
  });

  it('names that only resemble a provider prefix stay ordinary secrets', async () => {
    const secrets = memoryKeyValueStore();
    await secrets.put(operatorSecretKey(scope, 'slackish/token'), new TextEncoder().encode('ok'));
    const grants = grantsFor({ capabilities: { host: { secrets: { required: [{ key: 'slackish/token' }] } } } }, { httpAllowHosts: [] });
    const api = createHostApi(scope, grants, {
      state: memoryKeyValueStore(),
      secrets,
      http: async () => new Response('x'),
      telemetry: { log: () => {} },
    });
    expect(await api.secretsGet('slackish/token')).toEqual({ ok: true, value: new TextEncoder().encode('ok') });
  });
});
