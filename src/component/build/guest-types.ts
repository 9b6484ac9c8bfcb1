/** TypeScript declarations for component authors (`greentic-component new`), generated from WIT by jco. */
import { join } from 'node:path';
import { ComponentBuildError } from './component-build-error.js';
import { HOST_WIT_DIR, readWitPackages, witSourceForWorld } from './wit-source.js';

interface BindgenTypesModule {
  $init: Promise<void>;
  generateTypes(
    name: string,
    opts: { wit: { tag: 'source'; val: string }; world: string; features: { tag: 'list'; val: string[] }; guest: boolean },
  ): [string, Uint8Array][];
}

/**
 * TypeScript declarations (`declare module 'greentic:…'`) for a guest targeting `world`, from WIT
 * text. Uses jco's bindgen directly because its path-based entry points cannot read files here.
 */
export async function generateGuestTypes(witText: string, world: string): Promise<Record<string, string>> {
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  const req = createRequire(import.meta.url);
  const pkgDir = join(req.resolve('@bytecodealliance/jco-transpile'), '..', '..');
  const mod = (await import(pathToFileURL(join(pkgDir, 'vendor', 'js-component-bindgen-component.js')).href)) as BindgenTypesModule;
  await mod.$init;
  let files: [string, Uint8Array][];
  try {
    files = mod.generateTypes('world', { wit: { tag: 'source', val: witText }, world, features: { tag: 'list', val: [] }, guest: true });
  } catch (e) {
    const payload = (e as { payload?: unknown }).payload;
    throw new ComponentBuildError('WitInvalid', `world ${world}: ${typeof payload === 'string' ? payload : (e as Error).message}`);
  }
  const dec = new TextDecoder();
  return Object.fromEntries(files.map(([n, b]) => [n, dec.decode(b)]));
}

/**
 * Worlds covering every host interface this runner provides. Two, because jco names its output
 * files without the version, so two versions of one interface must come from separate runs.
 */
const GUEST_TYPES_WORLDS = [
  `world all-imports {
  include greentic:component/component@0.6.0;
  export greentic:component/component-qa@0.6.0;
  export greentic:component/component-i18n@0.6.0;
  import greentic:state/state-store@1.0.0;
  import greentic:secrets-store/secrets-store@1.0.0;
  import greentic:http/http-client@1.0.0;
  import greentic:telemetry/logger-api@1.0.0;
  import greentic:host/http-v1@1.0.0;
  import greentic:host/kv-v1@1.0.0;
  export wasix:mcp/router@25.6.18;
}`,
  `world all-imports {
  import greentic:secrets-store/secrets-store@1.1.0;
  import greentic:http/http-client@1.1.0;
}`,
];

/**
 * Declarations for every `greentic:*` module a component may import or export (and the MCP router), keyed by a path
 * under `types/` named after the module (`interfaces/greentic-http-http-client@1.1.0.d.ts`).
 */
export async function hostGuestTypes(): Promise<Record<string, string>> {
  const deps = await readWitPackages(HOST_WIT_DIR);
  const out: Record<string, string> = {};
  for (const world of GUEST_TYPES_WORLDS) {
    const text = witSourceForWorld({ name: 'greentic-guest:all-imports', body: world, source: '(generated)' }, deps);
    for (const [file, body] of Object.entries(await generateGuestTypes(text, 'all-imports'))) {
      const mod = /declare module '([^']+)'/.exec(body)?.[1];
      if (!file.startsWith('interfaces/') || !mod) continue;
      // The tsconfig includes every file under types/, so references to jco's file names are not needed.
      const renamed = body.replace(/^\/\/\/ <reference path=.*\n/gm, '');
      out[`interfaces/${mod.replace(':', '-').replace('/', '-')}.d.ts`] = renamed;
    }
  }
  return out;
}
