import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

describe('GET /healthz', () => {
  it('answers 200 with the deployment environment', async () => {
    const res = await SELF.fetch('http://example.com/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', env: 'dev' });
  });

  it('answers unknown paths with a JSON 404 naming the path', async () => {
    const res = await SELF.fetch('http://example.com/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not_found', message: 'no route for GET /nope' });
  });
});
