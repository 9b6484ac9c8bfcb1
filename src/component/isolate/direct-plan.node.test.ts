import { describe, expect, it } from 'vitest';
import { coreModuleInterface } from '../wasm/module-interface.js';
import { WasmRewriteError } from '../wasm/reader.js';
import { directMainOf, INVOKE_EXPORT } from './direct-plan.js';
import { DirectPath } from './greentic-abi.js';
import { CanonError } from './guest-memory.js';

const tools = await import('@bytecodealliance/jco-transpile/wasm-tools');
/** Node compiles bytes synchronously; the Workers types (shared tsconfig) declare Module abstract. */
const compile = (bytes: Uint8Array): WebAssembly.Module =>
  new (WebAssembly.Module as unknown as new (b: Uint8Array) => WebAssembly.Module)(bytes);
const wat = async (text: string): Promise<Uint8Array> => new Uint8Array(await tools.parse(text));

/** A node@0.6.0 main module: exports invoke, memory and cabi_realloc; `imports` are WAT import lines. */
const mainModule = (imports: string) => `(module
  ${imports}
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 0)
  (func (export "${INVOKE_EXPORT}") (param i32) (result i32) i32.const 0))`;

const STATE_READ = '(import "greentic:state/state-store@1.0.0" "read" (func (param i32 i32 i32)))';
const LOG = '(import "greentic:telemetry/logger-api@1.0.0" "log" (func (param i32 i32)))';

describe('coreModuleInterface', () => {
  it('lists imports and exports of every kind exactly as WebAssembly.Module does', async () => {
    const bytes = await wat(`(module
      (import "env" "f" (func (param i32) (result i32)))
      (import "env" "t" (table 1 funcref))
      (import "env" "m" (memory 1 2))
      (import "env" "g" (global (mut i32)))
      (func (export "run") (result i32) i32.const 1)
      (table (export "tab") 2 funcref)
      (global (export "glob") i32 (i32.const 7))
      (memory (export "mem") 1))`);
    const module = compile(bytes);
    const read = coreModuleInterface(bytes);
    expect(read.imports).toEqual(WebAssembly.Module.imports(module));
    expect(read.exports).toEqual(WebAssembly.Module.exports(module));
  });

  it('rejects bytes that are not a core module, and a truncated import section, with WasmRewriteError', async () => {
    expect(() => coreModuleInterface(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]))).toThrow(WasmRewriteError);
    const bytes = await wat(`(module ${STATE_READ})`);
    expect(() => coreModuleInterface(bytes.subarray(0, bytes.length - 4))).toThrow(/unexpected end/);
  });
});

describe('directMainOf (which components load without jco glue)', () => {
  it('picks the main module when it imports only Greentic host functions the isolate serves', async () => {
    const modules = {
      'component.core.wasm': coreModuleInterface(await wat(mainModule(`${STATE_READ} ${LOG}`))),
      'component.core2.wasm': coreModuleInterface(await wat('(module (table (export "$imports") 2 funcref))')),
    };
    expect(directMainOf(modules)).toBe('component.core.wasm');
    expect(directMainOf({ 'only.wasm': coreModuleInterface(await wat(mainModule(''))) })).toBe('only.wasm');
  });

  it('keeps the glue when the main module imports WASI, control, an unknown host function or a table', async () => {
    for (const line of [
      '(import "wasi:random/random@0.2.3" "get-random-u64" (func (result i64)))',
      '(import "greentic:component/control@0.6.0" "should-cancel" (func (result i32)))',
      '(import "greentic:state/state-store@9.9.9" "read" (func (param i32 i32 i32)))',
      '(import "shim" "$imports" (table 1 funcref))',
    ]) {
      expect(directMainOf({ 'main.wasm': coreModuleInterface(await wat(mainModule(`${STATE_READ} ${line}`))) }), line).toBeNull();
    }
  });

  it('keeps the glue when no module, or more than one, exports node@0.6.0 invoke', async () => {
    const main = coreModuleInterface(await wat(mainModule(STATE_READ)));
    expect(directMainOf({ 'a.wasm': coreModuleInterface(await wat('(module (memory (export "memory") 1))')) })).toBeNull();
    expect(directMainOf({ 'a.wasm': main, 'b.wasm': main })).toBeNull();
  });
});

describe('DirectPath.instantiateAlone', () => {
  it('refuses a main module that imports more than the host functions it serves', async () => {
    const module = compile(await wat(mainModule('(import "wasi:cli/exit@0.2.0" "exit" (func (param i32)))')));
    const direct = new DirectPath({
      host: () => {
        throw new Error('no host');
      },
      charge: () => undefined,
      shouldCancel: () => false,
    });
    expect(() => direct.instantiateAlone(module, (m, imports) => new WebAssembly.Instance(m, imports))).toThrow(CanonError);
    expect(direct.ready).toBe(false);
  });

  it('instantiates a main module without imports on its own and is ready to invoke', async () => {
    const module = compile(await wat(mainModule('')));
    const direct = new DirectPath({
      host: () => {
        throw new Error('no host');
      },
      charge: () => undefined,
      shouldCancel: () => false,
    });
    direct.instantiateAlone(module, (m, imports) => new WebAssembly.Instance(m, imports));
    expect(direct.ready).toBe(true);
  });
});
