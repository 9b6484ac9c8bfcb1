/** jco transpiles a component for Node once per digest, into a cache folder the CLI reuses. */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sha256HexAsync } from '../../pack/digest.js';
import { REPO_ROOT } from '../build/component-build.js';
import { NodeHostError } from './node-host-error.js';

export const DEFAULT_NODE_TRANSPILE_CACHE = join(REPO_ROOT, '.cache', 'component-node');
/** Bumped when the transpile options below change. */
const NODE_TRANSPILE_VERSION = 1;

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** A component binary has layer 1 in bytes 6..8; a core module has version 1 there. */
export function checkComponentHeader(bytes: Uint8Array, where: string): void {
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new NodeHostError('WasmInvalid', `${where}: not a WebAssembly binary (missing \\0asm header)`);
  }
  if (bytes[6] === 0 && bytes[7] === 0) {
    throw new NodeHostError(
      'NotAComponent',
      `${where}: is a core WebAssembly module, not a component (build it for wasm32-wasip2 or with componentize-js)`,
    );
  }
}

export interface TranspiledFiles {
  dir: string;
  imports: string[];
}

/** jco-transpiles `wasm` for Node (async instantiation, imports supplied at run time), cached by digest. */
export async function transpileForNode(wasm: Uint8Array, where: string, cacheDir = DEFAULT_NODE_TRANSPILE_CACHE): Promise<TranspiledFiles> {
  checkComponentHeader(wasm, where);
  const dir = join(cacheDir, `${await sha256HexAsync(wasm)}-v${NODE_TRANSPILE_VERSION}`);
  const importsFile = join(dir, 'imports.json');
  if (existsSync(importsFile)) return { dir, imports: JSON.parse(readFileSync(importsFile, 'utf8')) as string[] };
  const { transpileBytes } = await import('@bytecodealliance/jco-transpile');
  let result: Awaited<ReturnType<typeof transpileBytes>>;
  try {
    result = await transpileBytes(wasm, { name: 'component', instantiation: 'async', emitTypescriptDeclarations: false });
  } catch (e) {
    const payload = (e as { payload?: unknown }).payload;
    const msg = typeof payload === 'string' ? payload : (e as Error).message;
    throw new NodeHostError('WasmInvalid', `${where}: not a valid component: ${msg.split('\n')[0]}`);
  }
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  for (const [name, bytes] of Object.entries(result.files)) {
    const p = join(tmp, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, bytes);
  }
  writeFileSync(join(tmp, 'imports.json'), JSON.stringify(result.imports));
  mkdirSync(cacheDir, { recursive: true });
  try {
    renameSync(tmp, dir);
  } catch {
    // Another process finished the same digest first; its output is identical.
    rmSync(tmp, { recursive: true, force: true });
  }
  return { dir, imports: result.imports };
}
