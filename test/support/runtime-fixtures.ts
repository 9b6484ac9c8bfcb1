// Shared setup for the runtime tests: packs made of real compiled flows (seeded straight into the
// index, as an upload would leave them) and envelopes as a provider adapter would publish them.
import { env, SELF } from 'cloudflare:test';
import { expect } from 'vitest';
import type { ChannelMessageEnvelopeInput } from '../../src/bus/envelope.js';
import { type IngressMessage, ingressMessage } from '../../src/bus/messages.js';
import { buildTenantCtx } from '../../src/edge/tenant-ctx.js';
import { compileFlowSource } from '../../src/flow/compile-source.js';
import type { Flow } from '../../src/flow/model.js';
import type { WorkerEnv } from '../../src/objects.js';
import { sha256Hex } from '../../src/pack/digest.js';
import { activatePack, recordPack } from '../../src/pack-store/pack-index.js';
import { archiveKey, putPackModel } from '../../src/pack-store/pack-store.js';

export const testEnv = env as unknown as WorkerEnv;

export function compile(source: string): Flow {
  const result = compileFlowSource(source, { file: 'test.ygtc' });
  if (result.flow === undefined) throw new Error(`flow does not compile: ${JSON.stringify(result.diagnostics)}`);
  return result.flow;
}

export async function seedPack(packId: string, version: string, flows: string[]): Promise<string> {
  const compiled = flows.map(compile);
  const digest = `sha256:${sha256Hex(new TextEncoder().encode(`${packId}@${version}:${flows.join('\n---\n')}`))}`;
  const modelKey = await putPackModel(testEnv.PACKS, {
    pack_id: packId,
    version,
    digest,
    kind: 'application',
    flows: compiled,
    components: [],
  });
  await recordPack(testEnv.PACK_INDEX, {
    digest,
    pack_id: packId,
    version,
    kind: 'application',
    publisher: 'test',
    size: 0,
    signed_by: null,
    trust: 'unsigned-dev',
    archive_key: archiveKey(digest),
    model_key: modelKey,
    uploaded_at: new Date().toISOString(),
  });
  return digest;
}

export async function activate(tenant: string, packId: string, digest: string): Promise<void> {
  await activatePack(testEnv.PACK_INDEX, testEnv.GREENTIC_ENV, tenant, packId, digest, new Date().toISOString());
}

/** Uploads a pack archive through the admin API and activates its version 1.0.0 for the tenant. */
export async function uploadAndActivate(tenant: string, packId: string, archive: Uint8Array): Promise<void> {
  const auth = { authorization: 'Bearer test-admin-token' };
  const upload = await SELF.fetch('http://runner/admin/v1/packs', { method: 'POST', headers: auth, body: archive });
  expect(upload.status, await upload.clone().text()).toBe(201);
  const on = await SELF.fetch(`http://runner/admin/v1/tenants/${tenant}/packs/${packId}`, {
    method: 'PUT',
    headers: auth,
    body: JSON.stringify({ version: '1.0.0' }),
  });
  expect(on.status, await on.clone().text()).toBe(200);
}

let counter = 0;

export function webchatMessage(tenant: string, conversation: string, text: string, id?: string): IngressMessage {
  const eventId = id ?? `evt-${++counter}-${Math.random().toString(36).slice(2)}`;
  const envelope: ChannelMessageEnvelopeInput = {
    id: eventId,
    tenant: buildTenantCtx({ env: testEnv.GREENTIC_ENV, tenant, channel: 'webchat', user: 'u1' }),
    channel: 'webchat',
    session_id: `${tenant}:webchat:${conversation}:u1`,
    reply_scope: { conversation },
    from: { id: 'u1', kind: 'user' },
    text,
  };
  return ingressMessage(envelope);
}

export const ECHO_FLOW = (label: string) => `id: echo
type: messaging
start: reply
nodes:
  reply:
    emit.response:
      text: "${label}: {{entry.text}}"
    routing: out
`;

export const SURVEY_FLOW = `id: survey
type: messaging
start: ask
nodes:
  ask:
    emit.response:
      text: "What is your name?"
    routing:
      - to: wait
  wait:
    session.wait:
      reason: name
    routing:
      - to: greet
  greet:
    emit.response:
      text: "Hello {{entry.text}}"
    routing: out
`;
