// Every id and key that becomes part of a storage key or an object name has a documented maximum
// length and is refused with 400 beyond it, before anything is stored (R2 keys are at most 1,024
// bytes: a longer key used to surface as a 500).
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { MAX_SECRET_KEY_LENGTH } from '../../src/component/edge/host-policy.js';
import { MAX_IDENTIFIER_LENGTH } from '../../src/edge/tenant-ctx.js';

const AUTH = { authorization: 'Bearer test-admin-token' };
const longTenant = 't'.repeat(MAX_IDENTIFIER_LENGTH + 1);

async function problem(res: Response): Promise<{ status: number; error: string; message: string }> {
  const body = (await res.json()) as { error: string; message: string };
  return { status: res.status, ...body };
}

describe('id and key length limits', () => {
  it(`a secret key over ${MAX_SECRET_KEY_LENGTH} characters is refused with 400 naming the limit, and nothing is stored`, async () => {
    const key = 'k'.repeat(MAX_SECRET_KEY_LENGTH + 1);
    const put = await SELF.fetch(`http://runner/admin/v1/tenants/acme/secrets/${key}`, { method: 'PUT', headers: AUTH, body: 'v' });
    expect(await problem(put)).toMatchObject({ status: 400, error: 'invalid_key' });
    const listed = (await (await SELF.fetch('http://runner/admin/v1/tenants/acme/secrets', { headers: AUTH })).json()) as {
      secrets: { key: string }[];
    };
    expect(listed.secrets.map((s) => s.key)).not.toContain(key);
    const atLimit = 'k'.repeat(MAX_SECRET_KEY_LENGTH);
    expect(
      (await SELF.fetch(`http://runner/admin/v1/tenants/acme/secrets/${atLimit}`, { method: 'PUT', headers: AUTH, body: 'v' })).status,
    ).toBe(201);
  });

  it(`a tenant id over ${MAX_IDENTIFIER_LENGTH} characters is refused with 400 by the admin API, the webhook and WebChat`, async () => {
    const answers = await Promise.all([
      SELF.fetch(`http://runner/admin/v1/tenants/${longTenant}/secrets/API_TOKEN`, { method: 'PUT', headers: AUTH, body: 'v' }),
      SELF.fetch(`http://runner/admin/v1/tenants/${longTenant}/packs`, { headers: AUTH }),
      SELF.fetch(`http://runner/v1/webhook/${longTenant}/hook`, { method: 'POST', body: '{}' }),
      SELF.fetch(`http://runner/v1/webhook/acme/${'f'.repeat(MAX_IDENTIFIER_LENGTH + 1)}`, { method: 'POST', body: '{}' }),
      SELF.fetch(`http://runner/v1/messaging/webchat/${longTenant}/token`, { method: 'POST' }),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(`at most ${MAX_IDENTIFIER_LENGTH} characters`);
    }
  });
});
