// quickstart-app (greentic-demo, built by the upstream toolchain) uploaded unchanged: its `on_event`
// flow answers an event posted to the events ingress.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { QUICKSTART_APP_PACK } from './generated/upstream-packs.js';

const AUTH = { authorization: 'Bearer test-admin-token' };

describe('quickstart-app on_event through the events ingress', () => {
  it("runs quickstart-app's on_event flow, its Rust events2msg component included, for a posted event", async () => {
    const b64 = QUICKSTART_APP_PACK;
    expect(b64, 'the upstream quickstart-app fixture must be present').not.toBe('');
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const upload = await SELF.fetch('http://runner/admin/v1/packs', { method: 'POST', headers: AUTH, body: bytes });
    expect(upload.status, await upload.clone().text()).toBeLessThan(300);
    const activation = await SELF.fetch('http://runner/admin/v1/tenants/qs-events/packs/quickstart-app', {
      method: 'PUT',
      headers: AUTH,
      body: JSON.stringify({ version: '0.1.0' }),
    });
    expect(activation.status, await activation.clone().text()).toBe(200);

    const res = await SELF.fetch('http://runner/v1/events/ingress/webhook/qs-events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ticket: 'T-1', status: 'created' }),
    });
    const answer = (await res.json()) as { runs: { flow_id: string; status: string; output: unknown; error_code?: string }[] };
    expect(res.status, JSON.stringify(answer)).toBe(200);
    expect(answer.runs.map((r) => r.flow_id)).toEqual(['on_event']);
    expect(answer.runs[0]?.status, JSON.stringify(answer.runs[0])).toBe('done');
    // events2msg routed the event to WebChat. Until `{custom: [{next}]}` routing runs (issue 17) the
    // walk ends after that node and its result is the output; with it, send_response's text names
    // the same provider ("Routed to: webchat").
    expect(JSON.stringify(answer.runs[0]?.output)).toContain('webchat');
  });
});
