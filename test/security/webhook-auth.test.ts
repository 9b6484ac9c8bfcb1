// Webhook authentication, opt-in per flow (parameters.webhook.auth): HMAC signatures (optionally
// over a timestamp) and bearer tokens, with secrets from the tenant's secrets (admin API). A call
// that fails gets 401 and runs nothing; Idempotency-Key replays belong to the caller's principal.
import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { componentSecretKey } from '../../src/component/edge/host-policy.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import type { Flow } from '../../src/flow/model.js';
import { sha256Hex } from '../../src/pack/digest.js';
import { activatePack, recordPack } from '../../src/pack-store/pack-index.js';
import { archiveKey, putPackModel } from '../../src/pack-store/pack-store.js';
import { compile, testEnv } from '../support/runtime-fixtures.js';

beforeAll(() => {
  setTelemetrySink(() => {});
});

const encoder = new TextEncoder();

/** Each run bumps a counter in the flow's state, so a test can tell whether the flow ran. */
function countingFlow(id: string, auth: string): string {
  return `id: ${id}
type: http
parameters:
  webhook:
    auth:
${auth}
nodes:
  count:
    state.get: { key: runs }
    routing: [ { to: bump } ]
  bump:
    state.set: { key: runs, value: "{{node.count.value}}x" }
    routing: [ { to: answer } ]
  answer:
    emit.response: { runs: "{{node.bump.value}}", body: "{{in.body.text}}", auth: "{{in.headers.authorization}}" }
    routing: out
`;
}

const FLOWS = [
  countingFlow('signed', '      scheme: hmac-sha256\n      secret: hook_secret'),
  countingFlow(
    'stamped',
    '      scheme: hmac-sha256\n      secret: hook_secret\n      header: X-Signature\n      timestamp_header: X-Timestamp\n      tolerance_seconds: 60',
  ),
  countingFlow('partners', '      scheme: bearer\n      secret: [partner_a, partner_b]'),
  countingFlow('unset', '      scheme: bearer\n      secret: never_set'),
  `id: open
type: http
nodes:
  answer:
    emit.response: { ok: true }
    routing: out
`,
];

/** A pack seeded straight into the index, as an upload leaves it (flows given compiled). */
async function seed(tenant: string, flows: Flow[]): Promise<void> {
  const packId = `auth-${tenant}`;
  const digest = `sha256:${sha256Hex(encoder.encode(`${packId}:${JSON.stringify(flows)}`))}`;
  const modelKey = await putPackModel(testEnv.PACKS, {
    pack_id: packId,
    version: '1.0.0',
    digest,
    kind: 'application',
    flows,
    components: [],
  });
  await recordPack(testEnv.PACK_INDEX, {
    digest,
    pack_id: packId,
    version: '1.0.0',
    kind: 'application',
    publisher: 'test',
    size: 0,
    signed_by: null,
    trust: 'unsigned-dev',
    archive_key: archiveKey(digest),
    model_key: modelKey,
    uploaded_at: new Date().toISOString(),
  });
  await activatePack(testEnv.PACK_INDEX, testEnv.GREENTIC_ENV, tenant, packId, digest, new Date().toISOString());
}

async function setSecret(tenant: string, key: string, value: string): Promise<void> {
  const res = await SELF.fetch(`http://runner/admin/v1/tenants/${tenant}/secrets/${key}`, {
    method: 'PUT',
    headers: { Authorization: 'Bearer test-admin-token' },
    body: value,
  });
  expect(res.ok).toBe(true);
}

async function tenantWithSecrets(label: string): Promise<string> {
  const tenant = `${label}-${crypto.randomUUID().slice(0, 8)}`;
  await seed(tenant, FLOWS.map(compile));
  await setSecret(tenant, 'hook_secret', 'shared-hmac-key');
  await setSecret(tenant, 'partner_a', 'token-of-a');
  await setSecret(tenant, 'partner_b', 'token-of-b');
  return tenant;
}

async function hmacHex(key: string, message: string): Promise<string> {
  const k = await crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const sig = new Uint8Array(await crypto.subtle.sign('HMAC', k, encoder.encode(message)));
  return Array.from(sig, (b) => b.toString(16).padStart(2, '0')).join('');
}

function post(tenant: string, flow: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch(`http://runner/v1/webhook/${tenant}/${flow}`, { method: 'POST', body, headers });
}

async function runsOf(res: Response): Promise<string> {
  expect(res.status).toBe(200);
  return ((await res.json()) as { runs: string }[])[0]!.runs;
}

async function refusal(res: Response, status: number): Promise<{ error: string; message: string }> {
  expect(res.status).toBe(status);
  return (await res.json()) as { error: string; message: string };
}

describe('HMAC-signed webhooks', () => {
  it('a call signed with the tenant secret runs the flow; an unsigned or wrongly signed one gets 401 naming the problem and runs nothing', async () => {
    const tenant = await tenantWithSecrets('hmac');
    const body = '{"event":"paid"}';
    const good = await post(tenant, 'signed', body, { 'X-Greentic-Signature': `sha256=${await hmacHex('shared-hmac-key', body)}` });
    expect(await runsOf(good)).toBe('x');

    const missing = await refusal(await post(tenant, 'signed', body), 401);
    expect(missing).toMatchObject({ error: 'Unauthorized', message: expect.stringContaining('requires a X-Greentic-Signature header') });
    const malformed = await refusal(await post(tenant, 'signed', body, { 'X-Greentic-Signature': 'abc' }), 401);
    expect(malformed.message).toContain('must be "sha256=" followed by 64 hex digits');
    const wrongKey = await post(tenant, 'signed', body, { 'X-Greentic-Signature': `sha256=${await hmacHex('guessed', body)}` });
    expect((await refusal(wrongKey, 401)).message).toBe('X-Greentic-Signature does not match the request body');
    const tampered = await post(tenant, 'signed', '{"event":"refund"}', {
      'X-Greentic-Signature': `sha256=${await hmacHex('shared-hmac-key', body)}`,
    });
    await refusal(tampered, 401);

    // None of the refused calls ran the flow: the next good call is only its second run.
    const again = await post(tenant, 'signed', body, { 'X-Greentic-Signature': `sha256=${await hmacHex('shared-hmac-key', body)}` });
    expect(await runsOf(again)).toBe('xx');
  });

  it('with a timestamp header the timestamp is signed with the body and must be within the tolerance', async () => {
    const tenant = await tenantWithSecrets('stamp');
    const body = 'payload';
    const now = Math.floor(Date.now() / 1000);
    const signedAt = async (ts: number, over = `${ts}.${body}`) =>
      post(tenant, 'stamped', body, { 'X-Timestamp': String(ts), 'X-Signature': `sha256=${await hmacHex('shared-hmac-key', over)}` });
    expect(await runsOf(await signedAt(now))).toBe('x');
    // A captured signature replayed later, or with a fresh timestamp, is refused.
    expect((await refusal(await signedAt(now - 120), 401)).message).toMatch(
      /X-Timestamp is 12\d s away from the server's clock; at most 60 s/,
    );
    expect((await refusal(await signedAt(now, body), 401)).message).toContain('does not match the request timestamp and body');
    const noStamp = await post(tenant, 'stamped', body, { 'X-Signature': `sha256=${await hmacHex('shared-hmac-key', body)}` });
    expect((await refusal(noStamp, 401)).message).toContain('requires a X-Timestamp header');
  });
});

describe('bearer-token webhooks', () => {
  it('any of the flow secrets is accepted; a missing or wrong token gets 401 with a challenge; the flow never sees the token', async () => {
    const tenant = await tenantWithSecrets('bearer');
    const a = await post(tenant, 'partners', 'hi', { Authorization: 'Bearer token-of-a' });
    expect(a.status).toBe(200);
    expect(await a.json()).toEqual([{ runs: 'x', body: 'hi', auth: '' }]);
    expect(await runsOf(await post(tenant, 'partners', 'hi', { Authorization: 'Bearer token-of-b' }))).toBe('xx');

    const none = await post(tenant, 'partners', 'hi');
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await refusal(none, 401)).message).toBe('this flow requires "Authorization: Bearer <token>"');
    const wrong = await post(tenant, 'partners', 'hi', { Authorization: 'Bearer token-of-c' });
    expect(wrong.headers.get('www-authenticate')).toContain('invalid_token');
    expect((await refusal(wrong, 401)).message).toBe('the bearer token is not valid for this flow');
    // An admin token or another tenant's secret is no credential here either.
    await refusal(await post(tenant, 'partners', 'hi', { Authorization: 'Bearer test-admin-token' }), 401);
  });

  it('a flow whose secret is not set answers 503 and runs nothing, rather than accepting anyone', async () => {
    const tenant = await tenantWithSecrets('unset');
    const res = await post(tenant, 'unset', 'hi', { Authorization: 'Bearer anything' });
    expect((await refusal(res, 503)).error).toBe('WebhookAuthUnavailable');
  });

  it("a value a component wrote under the secret's name is never a credential: only the operator's value counts", async () => {
    const tenant = await tenantWithSecrets('component');
    await testEnv.PACKS.put(componentSecretKey({ env: testEnv.GREENTIC_ENV, tenant }, 'never_set'), 'planted');
    const res = await post(tenant, 'unset', 'hi', { Authorization: 'Bearer planted' });
    expect((await refusal(res, 503)).error).toBe('WebhookAuthUnavailable');
  });

  it('a flow that declares no authentication still takes anonymous calls, as upstream does', async () => {
    const tenant = await tenantWithSecrets('open');
    const res = await post(tenant, 'open', 'hi');
    expect(res.status).toBe(200);
  });

  it('a flow whose authentication declaration does not parse refuses every call instead of running unauthenticated', async () => {
    const tenant = `broken-${crypto.randomUUID().slice(0, 8)}`;
    const flow = compile(FLOWS[4]!);
    flow.metadata.extra['webhook'] = { auth: { scheme: 'hmac-sha1', secret: 'hook_secret' } };
    await seed(tenant, [flow]);
    const res = await post(tenant, 'open', 'hi');
    expect((await refusal(res, 500)).error).toBe('InvalidWebhookAuth');
  });
});

describe('Idempotency-Key with authentication', () => {
  it('replays are scoped to the principal: another caller reusing the key runs its own call, an unauthenticated one gets 401', async () => {
    const tenant = await tenantWithSecrets('idem');
    const as = (token: string | undefined, body: string) =>
      post(tenant, 'partners', body, {
        'Idempotency-Key': 'order-42',
        ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
      });

    const first = await as('token-of-a', 'from a');
    expect(await first.json()).toEqual([{ runs: 'x', body: 'from a', auth: '' }]);
    const replay = await as('token-of-a', 'ignored');
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual([{ runs: 'x', body: 'from a', auth: '' }]);

    // Partner B guessed A's key: B's own call runs, and A's response is not disclosed.
    const guessed = await as('token-of-b', 'from b');
    expect(guessed.headers.get('idempotent-replayed')).toBeNull();
    expect(await guessed.json()).toEqual([{ runs: 'xx', body: 'from b', auth: '' }]);
    const anonymous = await as(undefined, 'from nobody');
    await refusal(anonymous, 401);
    expect(anonymous.headers.get('idempotent-replayed')).toBeNull();
  });
});
