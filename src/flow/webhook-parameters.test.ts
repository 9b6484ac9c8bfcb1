import { describe, expect, it } from 'vitest';
import { compileFlowSource } from './compile-source.js';
import { loadFlow } from './loader.js';

const flowWith = (auth: string) => `id: hook
type: http
parameters:
  webhook:
    auth:
${auth}
nodes:
  answer:
    emit.response: { ok: true }
    routing: out
`;

describe('parameters.webhook.auth (our extension)', () => {
  it('compiles into the flow metadata, where the runner reads it', () => {
    const { flow } = compileFlowSource(flowWith('      scheme: bearer\n      secret: [partner_a, partner_b]'), { file: 'hook.ygtc' });
    expect(flow?.metadata.extra['webhook']).toEqual({ auth: { scheme: 'bearer', secret: ['partner_a', 'partner_b'] } });
  });

  it('a malformed declaration is a validation error at its position, not a surprise at run time', () => {
    const unknownScheme = loadFlow(flowWith('      scheme: hmac-sha1\n      secret: k'), { file: 'hook.ygtc' });
    expect(unknownScheme.doc).toBeUndefined();
    expect(unknownScheme.diagnostics[0]).toMatchObject({
      code: 'Schema',
      file: 'hook.ygtc',
      line: 6,
      pointer: '/parameters/webhook/auth/scheme',
    });

    const badSecret = loadFlow(flowWith('      scheme: bearer\n      secret: ../etc'), { file: 'hook.ygtc' });
    expect(badSecret.diagnostics.map((d) => d.pointer)).toContain('/parameters/webhook/auth/secret');

    const typo = loadFlow(flowWith('      scheme: hmac-sha256\n      secret: k\n      timestamp: X-Ts'), { file: 'hook.ygtc' });
    expect(typo.diagnostics[0]?.message).toContain('unknown key "timestamp"');
  });

  it('other keys of parameters.webhook are left alone', () => {
    const { doc, diagnostics } = loadFlow(`id: hook
type: http
parameters:
  webhook: { owner: billing }
nodes:
  answer:
    emit.response: { ok: true }
    routing: out
`);
    expect(diagnostics).toEqual([]);
    expect(doc?.parameters).toEqual({ webhook: { owner: 'billing' } });
  });
});
