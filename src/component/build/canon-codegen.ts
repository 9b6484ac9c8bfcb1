/**
 * Build step: straight-line JavaScript for the canonical-ABI lowering and lifting that every
 * node@0.6.0 invocation performs (`invoke` parameters in, its result out), generated from the same
 * type descriptions and layouts as canon.ts's `layoutOf`. A cold component isolate then compiles
 * two flat functions instead of `layoutOf` and the dozens of small closures it builds, which was
 * most of a first invocation's cost (see docs/component-performance.md). Run by generate-edge-modules.ts; the
 * output is `isolate/generated/node-abi.js` (its declarations, `node-abi.d.ts`, are committed).
 *
 * Supported: bool, u8/u16/u32/u64/s64, string, list<u8>, option, record and tuple (stores and
 * loads), result and enum (loads). Anything else throws here, at build time.
 */
import { type CanonType, camel, layoutOf, UINT_MAX } from '../isolate/canon.js';
import { nodeAbiTypes } from '../isolate/wit-types.js';

interface Address {
  base: string;
  off: number;
}

const at = (a: Address, plus = 0): string => (a.off + plus === 0 ? a.base : `${a.base} + ${a.off + plus}`);

class Emitter {
  private seq = 0;
  readonly lines: string[] = [];

  fresh(prefix: string): string {
    return `${prefix}${this.seq++}`;
  }

  emit(indent: number, line: string): void {
    this.lines.push(`${'  '.repeat(indent)}${line}`);
  }
}

/** Emits statements that store the value of expression `value` (of `type`) at `addr`. */
function emitStore(e: Emitter, type: CanonType, addr: Address, value: string, indent: number): void {
  switch (type.kind) {
    case 'bool':
      e.emit(indent, `mem.view().setUint8(${at(addr)}, ${value} ? 1 : 0);`);
      return;
    case 'u8':
      e.emit(indent, `mem.view().setUint8(${at(addr)}, mem.int(${value}, 'u8', ${UINT_MAX.u8}));`);
      return;
    case 'u16':
      e.emit(indent, `mem.view().setUint16(${at(addr)}, mem.int(${value}, 'u16', ${UINT_MAX.u16}), true);`);
      return;
    case 'u32':
      e.emit(indent, `mem.view().setUint32(${at(addr)}, mem.int(${value}, 'u32', ${UINT_MAX.u32}), true);`);
      return;
    case 'u64':
      e.emit(indent, `mem.view().setBigUint64(${at(addr)}, BigInt.asUintN(64, BigInt(${value})), true);`);
      return;
    case 's64':
      e.emit(indent, `mem.view().setBigInt64(${at(addr)}, BigInt.asIntN(64, BigInt(${value})), true);`);
      return;
    case 'string':
      e.emit(indent, `mem.storeString(${at(addr)}, ${value});`);
      return;
    case 'list':
      if (type.of.kind !== 'u8') throw new Error(`canon-codegen: stores of list<${type.of.kind}> are not generated`);
      e.emit(indent, `mem.storeBytes(${at(addr)}, ${value});`);
      return;
    case 'option': {
      const payload = layoutOf(type).payload!;
      const v = e.fresh('o');
      e.emit(indent, `const ${v} = ${value};`);
      e.emit(indent, `if (${v} === undefined || ${v} === null) mem.view().setUint8(${at(addr)}, 0);`);
      e.emit(indent, 'else {');
      e.emit(indent + 1, `mem.view().setUint8(${at(addr)}, 1);`);
      emitStore(e, type.of, { base: addr.base, off: addr.off + payload }, v, indent + 1);
      e.emit(indent, '}');
      return;
    }
    case 'record':
    case 'tuple': {
      const offsets = layoutOf(type).offsets!;
      const v = e.fresh(type.kind === 'record' ? 'r' : 't');
      e.emit(indent, `const ${v} = ${value};`);
      const parts: [string, CanonType][] =
        type.kind === 'record' ? type.fields.map(([n, f]) => [JSON.stringify(camel(n)), f]) : type.of.map((f, i) => [String(i), f]);
      parts.forEach(([key, f], i) => emitStore(e, f, { base: addr.base, off: addr.off + offsets[i]! }, `${v}[${key}]`, indent));
      return;
    }
    default:
      throw new Error(`canon-codegen: stores of ${type.kind} are not generated`);
  }
}

/** Emits statements that load a value of `type` from `addr`; returns the expression holding it. */
function emitLoad(e: Emitter, type: CanonType, addr: Address, indent: number): string {
  switch (type.kind) {
    case 'bool':
      return `mem.loadBool(${at(addr)})`;
    case 'u8':
      return `mem.view().getUint8(${at(addr)})`;
    case 'u16':
      return `mem.view().getUint16(${at(addr)}, true)`;
    case 'u32':
      return `mem.view().getUint32(${at(addr)}, true)`;
    case 'u64':
      return `mem.view().getBigUint64(${at(addr)}, true)`;
    case 's64':
      return `mem.view().getBigInt64(${at(addr)}, true)`;
    case 'string':
      return `mem.loadString(${at(addr)})`;
    case 'list':
      if (type.of.kind !== 'u8') throw new Error(`canon-codegen: loads of list<${type.of.kind}> are not generated`);
      return `mem.loadBytes(${at(addr)})`;
    case 'option':
    case 'result': {
      const payload = layoutOf(type).payload!;
      const v = e.fresh(type.kind === 'option' ? 'o' : 'r');
      const d = e.fresh('d');
      e.emit(indent, `let ${v};`);
      e.emit(indent, `const ${d} = mem.view().getUint8(${at(addr)});`);
      const cases: [CanonType | undefined, (x: string) => string][] =
        type.kind === 'option'
          ? [
              [undefined, () => 'undefined'],
              [type.of, (x) => x],
            ]
          : [
              [type.ok, (x) => `{ tag: 'ok', val: ${x} }`],
              [type.err, (x) => `{ tag: 'err', val: ${x} }`],
            ];
      cases.forEach(([payloadType, wrap], i) => {
        e.emit(indent, `${i === 0 ? '' : 'else '}if (${d} === ${i}) {`);
        const x = payloadType ? emitLoad(e, payloadType, { base: addr.base, off: addr.off + payload }, indent + 1) : 'undefined';
        e.emit(indent + 1, `${v} = ${wrap(x)};`);
        e.emit(indent, '}');
      });
      e.emit(indent, `else mem.invalid('${type.kind}', ${d});`);
      return v;
    }
    case 'record':
    case 'tuple': {
      const offsets = layoutOf(type).offsets!;
      const fields: [string, CanonType][] =
        type.kind === 'record' ? type.fields.map(([n, f]) => [JSON.stringify(camel(n)), f]) : type.of.map((f, i) => [String(i), f]);
      // Each field into its own constant, in order: the same evaluation (and error) order as layoutOf's loads.
      const values = fields.map(([key, f], i) => {
        const x = emitLoad(e, f, { base: addr.base, off: addr.off + offsets[i]! }, indent);
        const v = e.fresh('f');
        e.emit(indent, `const ${v} = ${x};`);
        return [key, v] as const;
      });
      return type.kind === 'record' ? `{ ${values.map(([k, v]) => `${k}: ${v}`).join(', ')} }` : `[${values.map(([, v]) => v).join(', ')}]`;
    }
    case 'enum': {
      const layout = layoutOf(type);
      const d = e.fresh('d');
      const getter = layout.size === 1 ? 'getUint8' : layout.size === 2 ? 'getUint16' : 'getUint32';
      e.emit(indent, `const ${d} = mem.view().${getter}(${at(addr)}, true);`);
      return `(${JSON.stringify(type.cases)}[${d}] ?? mem.invalid('enum', ${d}))`;
    }
    default:
      throw new Error(`canon-codegen: loads of ${(type as CanonType).kind} are not generated`);
  }
}

/** `function name(mem, ptr, value)` storing `type` at `ptr`. */
export function storeFunction(name: string, type: CanonType): string {
  const e = new Emitter();
  emitStore(e, type, { base: 'ptr', off: 0 }, 'value', 1);
  return `export function ${name}(mem, ptr, value) {\n${e.lines.join('\n')}\n}\n`;
}

/** `function name(mem, ptr)` returning the `type` value at `ptr`. */
export function loadFunction(name: string, type: CanonType): string {
  const e = new Emitter();
  const x = emitLoad(e, type, { base: 'ptr', off: 0 }, 1);
  return `export function ${name}(mem, ptr) {\n${e.lines.join('\n')}\n  return ${x};\n}\n`;
}

/** The `isolate/generated/node-abi.js` module: node@0.6.0 `invoke` parameter lowering and result lifting. */
export function nodeAbiModule(): string {
  const params = layoutOf(nodeAbiTypes.invokeParams);
  return [
    '// Generated by src/component/build/canon-codegen.ts from the node@0.6.0 types in isolate/wit-types.ts. Do not edit.',
    `export const INVOKE_PARAMS_SIZE = ${params.size};`,
    `export const INVOKE_PARAMS_ALIGN = ${params.align};`,
    "/** Stores `[op, envelope]` (`invoke`'s parameters) at `ptr`. */",
    storeFunction('storeInvokeParams', nodeAbiTypes.invokeParams),
    '/** Reads `result<invocation-result, node-error>` as `{ tag, val }`. */',
    loadFunction('loadInvokeResult', nodeAbiTypes.invokeResult),
  ].join('\n');
}
