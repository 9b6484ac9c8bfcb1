// Pack source trees (what `greentic-pack build` reads) for tests that upload real packs.

const utf8 = new TextEncoder();

export interface ComponentPackSource {
  packId: string;
  /** The one component `echoer`'s wasm bytes (need not be valid Wasm, for tests of refusals). */
  wasm: Uint8Array;
  manifest: object;
  flowId: string;
  flow: string;
}

/** The manifest of the one-component packs: `echoer`, messaging, no host capabilities. */
export const ECHOER_MANIFEST = {
  id: 'echoer',
  version: '1.0.0',
  supports: ['messaging'],
  world: 'greentic:component/component@0.6.0',
  profiles: { supported: [] },
  capabilities: { wasi: {}, host: {} },
  operations: [{ name: 'echo', input_schema: {}, output_schema: {} }],
  resources: {},
};

/** A pack with one component `echoer` (version 1.0.0) and one flow. */
export function componentPackSource(source: ComponentPackSource): Map<string, Uint8Array> {
  return new Map([
    [
      'pack.yaml',
      utf8.encode(
        `pack_id: ${source.packId}\nversion: 1.0.0\nkind: application\npublisher: tests\ncomponents:\n  - id: echoer\n    version: 1.0.0\n    wasm: components/echoer/echoer.wasm\nflows:\n  - id: ${source.flowId}\n    file: flows/${source.flowId}.ygtc\n`,
      ),
    ],
    ['components/echoer/echoer.wasm', source.wasm],
    ['components/echoer/component.manifest.json', utf8.encode(JSON.stringify(source.manifest))],
    [`flows/${source.flowId}.ygtc`, utf8.encode(source.flow)],
  ]);
}
