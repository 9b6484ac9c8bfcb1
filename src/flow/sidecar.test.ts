import { describe, expect, it } from 'vitest';
import resolveJson from './fixtures/main.ygtc.resolve.json?raw';
import { parseResolveSidecar, parseResolveSummary } from './index.js';

const digest = `sha256:${'0f'.repeat(32)}`;

describe('resolve sidecar (<flow>.ygtc.resolve.json)', () => {
  it('parses node sources of every kind with their mode', () => {
    const parsed = parseResolveSidecar(resolveJson, 'main.ygtc.resolve.json');
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.value?.nodes.llm_default).toEqual({
      source: { kind: 'repo', ref: 'repo://local/component-chat2data-llm' },
      mode: 'tracked',
    });
    expect(parsed.value?.nodes.local_node?.source).toMatchObject({ kind: 'local', path: '../components/echo.wasm' });
  });

  it('rejects an unknown source kind with the pointer of the offending node', () => {
    const text = JSON.stringify({ schema_version: 1, flow: 'f', nodes: { a: { source: { kind: 'ftp', ref: 'x' } } } });
    const parsed = parseResolveSidecar(text, 'f.resolve.json');
    expect(parsed.value).toBeUndefined();
    expect(parsed.diagnostics[0]?.pointer).toBe('/nodes/a/source/kind');
  });

  it('rejects another schema_version and invalid JSON', () => {
    expect(parseResolveSidecar('{"schema_version":2,"flow":"f","nodes":{}}', 'f').diagnostics).toHaveLength(1);
    expect(parseResolveSidecar('{', 'f').diagnostics[0]?.code).toBe('Sidecar');
  });
});

describe('resolve summary (<flow>.ygtc.resolve.summary.json)', () => {
  it('parses component ids, sources, digests and manifests', () => {
    const text = JSON.stringify({
      schema_version: 1,
      flow: 'main.ygtc',
      nodes: {
        a: {
          component_id: 'ai.greentic.echo',
          source: { kind: 'local', path: 'components/echo.wasm' },
          digest,
          manifest: { world: 'greentic:component/component@0.6.0', version: '0.1.0' },
        },
      },
    });
    const parsed = parseResolveSummary(text, 's.json');
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.value?.nodes.a?.component_id).toBe('ai.greentic.echo');
  });

  it('rejects a digest that is not sha256:<64 hex> and an invalid component id', () => {
    const text = JSON.stringify({
      schema_version: 1,
      flow: 'f',
      nodes: { a: { component_id: 'has space', source: { kind: 'oci', ref: 'oci://x' }, digest: 'md5:1' } },
    });
    const pointers = parseResolveSummary(text, 's.json').diagnostics.map((d) => d.pointer);
    expect(pointers.sort()).toEqual(['/nodes/a/component_id', '/nodes/a/digest']);
  });
});
