// `manifest.cbor` decoding: symbol-table indexes resolved back to ids, every field checked with a
// JSON pointer to where it went wrong, and the result re-encoded once so a decode never yields a
// manifest that upstream's encoder would refuse.
import type { CompiledNode, Flow, FlowKind, JsonValue, Routing } from '../flow/model.js';
import { CborError, decodeCbor } from './cbor.js';
import { PackError } from './errors.js';
import { encodePackManifest } from './manifest-encode.js';
import { componentManifestSidecarFields, isPlainObject, setKey } from './manifest-fields.js';
import {
  type ComponentManifest,
  type ExtensionRef,
  PACK_KINDS,
  type PackKind,
  type PackManifest,
  type SecretRequirement,
  type Signature,
  type SymbolTables,
} from './manifest-types.js';

const FLOW_KINDS: readonly FlowKind[] = ['messaging', 'event', 'component_config', 'job', 'http'];

class Dec {
  fail(message: string, ptr: string): never {
    throw new PackError('ManifestDecode', message, `manifest.cbor${ptr}`);
  }
  obj(v: unknown, ptr: string): Record<string, unknown> {
    if (!isPlainObject(v)) this.fail('expected a map with text keys', ptr);
    return v;
  }
  str(v: unknown, ptr: string): string {
    if (typeof v !== 'string') this.fail('expected a text string', ptr);
    return v;
  }
  optStr(v: unknown, ptr: string): string | undefined {
    return v === undefined || v === null ? undefined : this.str(v, ptr);
  }
  list(v: unknown, ptr: string): unknown[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail('expected an array', ptr);
    return v;
  }
  strList(v: unknown, ptr: string): string[] {
    return this.list(v, ptr).map((x, i) => this.str(x, `${ptr}/${i}`));
  }
  index(v: unknown, table: string[], name: string, ptr: string): string {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(`expected an index into symbols.${name}`, ptr);
    const s = table[v];
    if (s === undefined) this.fail(`index ${v} is out of range for symbols.${name} (${table.length} entries)`, ptr);
    return s;
  }
  flowKind(v: unknown, ptr: string): FlowKind {
    const s = this.str(v, ptr);
    if (!(FLOW_KINDS as readonly string[]).includes(s)) this.fail(`unknown flow kind "${s}"`, ptr);
    return s as FlowKind;
  }
}

function decodeRouting(d: Dec, v: unknown, nodes: string[], ptr: string): Routing {
  if (v === 'End') return 'end';
  if (v === 'Reply') return 'reply';
  const o = d.obj(v, ptr);
  const keys = Object.keys(o);
  if (keys.length !== 1) d.fail('routing must be End, Reply or a single-variant map', ptr);
  const variant = keys[0] as string;
  const body = o[variant];
  switch (variant) {
    case 'Next':
      return { next: { node_id: d.index(d.obj(body, `${ptr}/Next`).node_id, nodes, 'node_ids', `${ptr}/Next/node_id`) } };
    case 'Branch': {
      const b = d.obj(body, `${ptr}/Branch`);
      const onStatus: Record<string, string> = {};
      for (const [k, idx] of Object.entries(d.obj(b.on_status ?? {}, `${ptr}/Branch/on_status`))) {
        setKey(onStatus, k, d.index(idx, nodes, 'node_ids', `${ptr}/Branch/on_status/${k}`));
      }
      const dflt = b.default === undefined || b.default === null ? null : d.index(b.default, nodes, 'node_ids', `${ptr}/Branch/default`);
      return { branch: { on_status: onStatus, default: dflt } };
    }
    case 'Custom':
      return { custom: (body ?? null) as JsonValue };
    default:
      return d.fail(`unknown routing variant "${variant}"`, ptr);
  }
}

function decodeFlow(d: Dec, v: unknown, symbols: SymbolTables, ptr: string): Flow {
  const o = d.obj(v, ptr);
  const nodes: Record<string, CompiledNode> = {};
  d.list(o.nodes, `${ptr}/nodes`).forEach((raw, j) => {
    const p = `${ptr}/nodes/${j}`;
    const n = d.obj(raw, p);
    const id = d.index(n.id, symbols.node_ids, 'node_ids', `${p}/id`);
    if (Object.hasOwn(nodes, id)) d.fail(`node "${id}" appears twice`, `${p}/id`);
    const comp = d.obj(n.component, `${p}/component`);
    const node: CompiledNode = {
      id,
      component: {
        id: d.index(comp.id, symbols.component_ids, 'component_ids', `${p}/component/id`),
        pack_alias: d.optStr(comp.pack_alias, `${p}/component/pack_alias`) ?? null,
        operation: d.optStr(comp.operation, `${p}/component/operation`) ?? null,
      },
      input: d.obj(n.input ?? {}, `${p}/input`) as { mapping: JsonValue },
      output: d.obj(n.output ?? {}, `${p}/output`) as { mapping: JsonValue },
      err_map: n.err_map === undefined || n.err_map === null ? null : (d.obj(n.err_map, `${p}/err_map`) as { mapping: JsonValue }),
      routing: decodeRouting(d, n.routing, symbols.node_ids, `${p}/routing`),
      telemetry: d.obj(n.telemetry ?? { attributes: {} }, `${p}/telemetry`) as unknown as CompiledNode['telemetry'],
    };
    setKey(nodes, id, node);
  });
  return {
    schema_version: d.str(o.schema_version, `${ptr}/schema_version`),
    id: d.str(o.id, `${ptr}/id`),
    kind: d.flowKind(o.kind, `${ptr}/kind`),
    entrypoints: d.obj(o.entrypoints ?? {}, `${ptr}/entrypoints`) as Record<string, JsonValue>,
    nodes,
    metadata: d.obj(o.metadata ?? { tags: [], extra: null }, `${ptr}/metadata`) as unknown as Flow['metadata'],
  };
}

/** True when the decoded top-level map is the legacy `meta/flows/components` layout. */
export function isLegacyManifestValue(v: unknown): boolean {
  return isPlainObject(v) && isPlainObject(v.meta) && !('schema_version' in v);
}

/** Decode a current-format `manifest.cbor` (symbol tables resolved back to ids). */
export function decodePackManifest(bytes: Uint8Array): PackManifest {
  let raw: unknown;
  try {
    raw = decodeCbor(bytes, { preserveFloats: true });
  } catch (e) {
    if (e instanceof CborError) throw new PackError('ManifestDecode', e.message, `manifest.cbor ${e.at}`);
    throw e;
  }
  return manifestFromValue(raw);
}

export function manifestFromValue(raw: unknown): PackManifest {
  const d = new Dec();
  const o = d.obj(raw, '');
  const s = d.obj(o.symbols ?? {}, '/symbols');
  const symbols: SymbolTables = {
    component_ids: d.strList(s.component_ids, '/symbols/component_ids'),
    node_ids: d.strList(s.node_ids, '/symbols/node_ids'),
    capability_names: d.strList(s.capability_names, '/symbols/capability_names'),
    pack_ids: d.strList(s.pack_ids, '/symbols/pack_ids'),
  };
  const packId = typeof o.pack_id === 'string' ? o.pack_id : d.index(o.pack_id, symbols.pack_ids, 'pack_ids', '/pack_id');
  const kind = d.str(o.kind, '/kind');
  if (!(PACK_KINDS as readonly string[]).includes(kind)) d.fail(`unknown pack kind "${kind}"`, '/kind');
  const manifest: PackManifest = {
    schema_version: d.str(o.schema_version, '/schema_version'),
    pack_id: packId,
    version: d.str(o.version, '/version'),
    kind: kind as PackKind,
    publisher: d.str(o.publisher, '/publisher'),
    components: d.list(o.components, '/components').map((c, i) => {
      const ptr = `/components/${i}`;
      const co = d.obj(c, ptr);
      const out: Record<string, unknown> = { ...co, id: d.index(co.id, symbols.component_ids, 'component_ids', `${ptr}/id`) };
      d.str(co.version, `${ptr}/version`);
      d.str(co.world, `${ptr}/world`);
      return out as unknown as ComponentManifest;
    }),
    flows: d.list(o.flows, '/flows').map((e, i) => {
      const ptr = `/flows/${i}`;
      const eo = d.obj(e, ptr);
      return {
        id: d.str(eo.id, `${ptr}/id`),
        kind: d.flowKind(eo.kind, `${ptr}/kind`),
        flow: decodeFlow(d, eo.flow, symbols, `${ptr}/flow`),
        tags: d.strList(eo.tags, `${ptr}/tags`),
        entrypoints: d.strList(eo.entrypoints, `${ptr}/entrypoints`),
      };
    }),
    dependencies: d.list(o.dependencies, '/dependencies').map((e, i) => {
      const ptr = `/dependencies/${i}`;
      const eo = d.obj(e, ptr);
      return {
        alias: d.str(eo.alias, `${ptr}/alias`),
        pack_id: d.index(eo.pack_id, symbols.pack_ids, 'pack_ids', `${ptr}/pack_id`),
        version_req: d.str(eo.version_req, `${ptr}/version_req`),
        required_capabilities: d
          .list(eo.required_capabilities, `${ptr}/required_capabilities`)
          .map((x, j) => d.index(x, symbols.capability_names, 'capability_names', `${ptr}/required_capabilities/${j}`)),
      };
    }),
    capabilities: d.list(o.capabilities, '/capabilities').map((e, i) => {
      const eo = d.obj(e, `/capabilities/${i}`);
      return {
        name: d.index(eo.name, symbols.capability_names, 'capability_names', `/capabilities/${i}/name`),
        description: d.optStr(eo.description, `/capabilities/${i}/description`) ?? null,
      };
    }),
    signatures: {
      signatures: d.list(d.obj(o.signatures ?? {}, '/signatures').signatures, '/signatures/signatures').map((x, i) => {
        const so = d.obj(x, `/signatures/signatures/${i}`);
        d.str(so.key_id, `/signatures/signatures/${i}/key_id`);
        d.str(so.signature, `/signatures/signatures/${i}/signature`);
        return so as unknown as Signature;
      }),
    },
  };
  const name = d.optStr(o.name, '/name');
  if (name !== undefined) manifest.name = name;
  if (o.secret_requirements !== undefined)
    manifest.secret_requirements = d.list(o.secret_requirements, '/secret_requirements') as SecretRequirement[];
  if (o.bootstrap !== undefined && o.bootstrap !== null) manifest.bootstrap = d.obj(o.bootstrap, '/bootstrap') as PackManifest['bootstrap'];
  if (o.extensions !== undefined && o.extensions !== null) {
    const ext = d.obj(o.extensions, '/extensions');
    for (const [k, v] of Object.entries(ext)) {
      const eo = d.obj(v, `/extensions/${k}`);
      d.str(eo.kind, `/extensions/${k}/kind`);
      d.str(eo.version, `/extensions/${k}/version`);
    }
    manifest.extensions = ext as Record<string, ExtensionRef>;
  }
  if (o.agents !== undefined && o.agents !== null) manifest.agents = d.obj(o.agents, '/agents') as Record<string, JsonValue>;
  // Reject what upstream's encoder would refuse, so a decode never yields an unencodable manifest.
  try {
    encodePackManifest(manifest);
  } catch (e) {
    if (e instanceof PackError) throw new PackError('ManifestDecode', e.message.replace(/^ManifestEncode: /, ''), e.where);
    throw e;
  }
  return manifest;
}

/** Read a component manifest sidecar or JSON file into the model (unknown keys ignored). */
export function componentManifestFromValue(raw: unknown, where: string): ComponentManifest {
  if (!isPlainObject(raw)) throw new PackError('ManifestDecode', 'component manifest must be a map', where);
  if (typeof raw.id !== 'string' || raw.id === '') throw new PackError('ManifestDecode', 'component manifest has no id', `${where}/id`);
  if (typeof raw.version !== 'string') throw new PackError('ManifestDecode', 'component manifest has no version', `${where}/version`);
  if (typeof raw.world !== 'string') throw new PackError('ManifestDecode', 'component manifest has no world', `${where}/world`);
  const out: Record<string, unknown> = {};
  for (const field of componentManifestSidecarFields) if (raw[field.name] !== undefined) out[field.name] = raw[field.name];
  return out as unknown as ComponentManifest;
}
