import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { handleIngressBatch } from '../../src/bus/ingress.js';
import { messagingSubject, retryDelaySeconds, sanitizeSubjectSegment } from '../../src/bus/messages.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { channelObjectFor } from '../../src/objects.js';
import worker from '../../src/worker.js';
import { activate, ECHO_FLOW, seedPack, testEnv, webchatMessage } from '../support/runtime-fixtures.js';
import { until } from '../support/until.js';

beforeAll(() => {
  setTelemetrySink(() => {});
});

describe('message bus', () => {
  it('builds upstream subjects with sanitised segments', () => {
    expect(messagingSubject('ingress', 'dev', 'acme', 'default', 'slack')).toBe('greentic.messaging.ingress.dev.acme.default.slack');
    expect(messagingSubject('egress', 'dev', ' a b ', '', 'we*b>chat/x')).toBe('greentic.messaging.egress.dev.a-b.unknown.we-b-chat-x');
    expect(sanitizeSubjectSegment('   ')).toBe('unknown');
  });

  it('acks a message once its channel object holds it durably, and the object runs the turn', async () => {
    const digest = await seedPack('queue-pack', '1.0.0', [ECHO_FLOW('q')]);
    await activate('tenant-q', 'queue-pack', digest);
    const message = webchatMessage('tenant-q', 'c', 'hello');
    const batch = createMessageBatch<unknown>('greentic-ingress', [{ id: 'm1', timestamp: new Date(), attempts: 1, body: message }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, testEnv);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(['m1']);
    expect(result.retryMessages).toEqual([]);
    const stub = channelObjectFor(testEnv, message.envelope);
    await until(async () => ((await stub.sessionInfo(message.envelope.session_id))?.turns === 1 ? true : undefined), 'the turn');
  });

  it('acks a message no pack takes (the object dead-letters it and tells the user) and retries malformed bodies toward the DLQ', async () => {
    const batch = createMessageBatch<unknown>('greentic-ingress', [
      { id: 'no-pack', timestamp: new Date(), attempts: 3, body: webchatMessage('tenant-without-packs', 'c', 'hello') },
      { id: 'garbage', timestamp: new Date(), attempts: 1, body: { hello: 'world' } },
    ]);
    const ctx = createExecutionContext();
    await handleIngressBatch(batch, testEnv);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(['no-pack']);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(['garbage']);
    // Backoff doubles from 2 s per attempt and is capped at 5 minutes (max_retries then hands it to the DLQ).
    expect([1, 2, 3, 10].map(retryDelaySeconds)).toEqual([2, 4, 8, 300]);
  });
});
