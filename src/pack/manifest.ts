// `manifest.cbor` codec: greentic-types `PackManifest` in its "symbol table" layout. Component,
// node, capability and pack ids become integer indexes into bytewise-sorted string tables; struct
// fields are written in declaration order (expressed as `Map`s, which the encoder keeps in order);
// serde_json values and BTreeMaps are plain objects, which the encoder sorts bytewise. Which
// Options are written as null and which are omitted follows upstream's encoded mirror structs
// exactly, because signatures are computed over a re-encoding and must match upstream's bytes.
import type { CompiledNode, Flow, FlowKind, JsonValue, Routing } from '../flow/model.js';
import { CborError, CborFloat, decodeCbor, encodeCbor } from './cbor.js';
import { PackError } from './errors.js';

export type PackKind = 'application' | 'provider' | 'infrastructure' | 'library';
export const PACK_KINDS: readonly PackKind[] = ['application', 'provider', 'infrastructure', 'library'];
const FLOW_KINDS: readonly FlowKind[] = ['messaging', 'event', 'component_config', 'job', 'http'];

/**
 * JSON-typed values decoded from CBOR. Integral floats come back as `CborFloat` (a Number
 * subclass) so that a decode → encode round trip keeps them floats.
 */
export type ManifestJson = JsonValue;

export interface ComponentOperation {
  name: string;
  description?: string;
  input_schema: ManifestJson;
  output_schema: ManifestJson;
}

export interface ComponentManifest {
  id: string;
  version: string;
  supports: FlowKind[];
  world: string;
  profiles: { default?: string; supported: string[] };
  capabilities: ComponentCapabilities;
  configurators?: { basic?: string; full?: string } | null;
  operations: ComponentOperation[];
  config_schema?: ManifestJson | null;
  resources: { cpu_millis?: number; memory_mb?: number; average_latency_ms?: number };
  dev_flows?: Record<string, { format: string; graph: ManifestJson }>;
}

export interface SecretRequirement {
  key: string;
  required?: boolean;
  description?: string;
  scope?: { env: string; tenant: string; team?: string };
  format?: 'bytes' | 'text' | 'json';
  schema?: ManifestJson;
  examples?: string[];
}

export interface ComponentCapabilities {
  wasi: {
    filesystem?: { mode: 'none' | 'read_only' | 'sandbox'; mounts: Array<{ name: string; host_class: string; guest_path: string }> };
    env?: { allow: string[] };
    random: boolean;
    clocks: boolean;
  };
  host: {
    secrets?: { required: SecretRequirement[] };
    state?: { read: boolean; write: boolean };
    messaging?: { inbound: boolean; outbound: boolean };
    events?: { inbound: boolean; outbound: boolean };
    http?: { client: boolean; server: boolean };
    telemetry?: { scope: 'tenant' | 'pack' | 'node' };
    iac?: { write_templates: boolean; execute_plans: boolean };
  };
}

export interface PackFlowEntry {
  id: string;
  kind: FlowKind;
  flow: Flow;
  tags: string[];
  entrypoints: string[];
}

export interface PackDependency {
  alias: string;
  pack_id: string;
  version_req: string;
  required_capabilities: string[];
}

export interface Signature {
  key_id: string;
  algorithm: 'ed25519' | { other: string };
  /** Standard base64 of the 64-byte Ed25519 signature. */
  signature: string;
}

export interface ExtensionRef {
  kind: string;
  version: string;
  digest?: string;
  location?: string;
  inline?: ManifestJson;
}

export interface PackManifest {
  schema_version: string;
  pack_id: string;
  name?: string;
  version: string;
  kind: PackKind;
  publisher: string;
  components: ComponentManifest[];
  flows: PackFlowEntry[];
  dependencies: PackDependency[];
  capabilities: Array<{ name: string; description?: string | null }>;
  secret_requirements?: SecretRequirement[];
  signatures: { signatures: Signature[] };
  bootstrap?: { install_flow?: string; upgrade_flow?: string; installer_component?: string };
  extensions?: Record<string, ExtensionRef>;
  agents?: Record<string, ManifestJson>;
}

// ---------------------------------------------------------------------------------------------
// Shapes: how a serde struct is written. `always` fields are written even when absent (with
// their serde default), `nullable` ones become null, `skip` ones are omitted when None/empty.

type Shape = { t: 'json' } | { t: 'struct'; fields: Field[] } | { t: 'array'; of: Shape } | { t: 'map'; of: Shape } | { t: 'set' };
type Mode = 'always' | 'nullable' | 'skipNone' | 'skipEmpty';
interface Field {
  name: string;
  shape: Shape;
  mode: Mode;
  dflt?: () => unknown;
}

const json: Shape = { t: 'json' };
const struct = (...fields: Field[]): Shape => ({ t: 'struct', fields });
const arr = (of: Shape): Shape => ({ t: 'array', of });
const map = (of: Shape): Shape => ({ t: 'map', of });
const f = (name: string, shape: Shape, mode: Mode = 'always', dflt?: () => unknown): Field =>
  dflt === undefined ? { name, shape, mode } : { name, shape, mode, dflt };
const emptyArr = (): unknown[] => [];
const emptyObj = (): Record<string, unknown> => ({});
const no = (): boolean => false;

const boolPair = (a: string, b: string): Shape => struct(f(a, json, 'always', no), f(b, json, 'always', no));
const secretRequirement = struct(
  f('key', json),
  f('required', json, 'skipNone'),
  f('description', json, 'skipNone'),
  f('scope', struct(f('env', json), f('tenant', json), f('team', json, 'skipNone')), 'skipNone'),
  f('format', json, 'skipNone'),
  f('schema', json, 'skipNone'),
  f('examples', json, 'skipEmpty'),
);
const capabilitiesShape = struct(
  f(
    'wasi',
    struct(
      f(
        'filesystem',
        struct(
          f('mode', json),
          f('mounts', arr(struct(f('name', json), f('host_class', json), f('guest_path', json))), 'always', emptyArr),
        ),
        'skipNone',
      ),
      f('env', struct(f('allow', json, 'always', emptyArr)), 'skipNone'),
      f('random', json, 'always', no),
      f('clocks', json, 'always', no),
    ),
    'always',
    emptyObj,
  ),
  f(
    'host',
    struct(
      f('secrets', struct(f('required', arr(secretRequirement), 'always', emptyArr)), 'skipNone'),
      f('state', boolPair('read', 'write'), 'skipNone'),
      f('messaging', boolPair('inbound', 'outbound'), 'skipNone'),
      f('events', boolPair('inbound', 'outbound'), 'skipNone'),
      f('http', boolPair('client', 'server'), 'skipNone'),
      f('telemetry', struct(f('scope', json)), 'skipNone'),
      f('iac', struct(f('write_templates', json, 'always', no), f('execute_plans', json, 'always', no)), 'skipNone'),
    ),
    'always',
    emptyObj,
  ),
);
const operationShape = struct(
  f('name', json),
  f('description', json, 'skipNone'),
  f('input_schema', json, 'always', () => null),
  f('output_schema', json, 'always', () => null),
);
/** The component part of `EncodedComponent` after `id` (configurators/config_schema are never skipped there). */
const encodedComponentRest: Field[] = [
  f('version', json),
  f('supports', json, 'always', emptyArr),
  f('world', json),
  f('profiles', struct(f('default', json, 'skipNone'), f('supported', json, 'always', emptyArr)), 'always', emptyObj),
  f('capabilities', capabilitiesShape, 'always', emptyObj),
  f('configurators', struct(f('basic', json, 'skipNone'), f('full', json, 'skipNone')), 'nullable'),
  f('operations', arr(operationShape), 'always', emptyArr),
  f('config_schema', json, 'nullable'),
  f(
    'resources',
    struct(f('cpu_millis', json, 'skipNone'), f('memory_mb', json, 'skipNone'), f('average_latency_ms', json, 'skipNone')),
    'always',
    emptyObj,
  ),
  f(
    'dev_flows',
    map(
      struct(
        f('format', json, 'always', () => 'flow-ir-json'),
        f('graph', json, 'always', () => null),
      ),
    ),
    'always',
    emptyObj,
  ),
];
/** Component manifests as their own serde struct (the canonical-CBOR sidecar files use this). */
export const componentManifestFields: readonly string[] = ['id', ...encodedComponentRest.map((x) => x.name)];

const mappingShape = struct(f('mapping', json, 'always', () => null));
const telemetryShape = struct(
  f('span_name', json, 'skipNone'),
  f('attributes', map(json), 'always', emptyObj),
  f('sampling', json, 'skipNone'),
);
const metadataShape = struct(
  f('title', json, 'skipNone'),
  f('description', json, 'skipNone'),
  f('tags', { t: 'set' }, 'always', emptyArr),
  f('extra', json, 'always', () => null),
);
const signatureShape = struct(f('key_id', json), f('algorithm', json), f('signature', json));
const extensionRefShape = struct(
  f('kind', json),
  f('version', json),
  f('digest', json, 'skipNone'),
  f('location', json, 'skipNone'),
  f('inline', json, 'skipNone'),
);
const bootstrapShape = struct(
  f('install_flow', json, 'skipNone'),
  f('upgrade_flow', json, 'skipNone'),
  f('installer_component', json, 'skipNone'),
);

function encodeError(message: string, pointer: string): PackError {
  return new PackError('ManifestEncode', message, `manifest.cbor${pointer}`);
}

function setKey(obj: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || v instanceof CborFloat) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isPlainObject(v)) return Object.keys(v).length === 0;
  return false;
}

function toTree(value: unknown, shape: Shape, ptr: string): unknown {
  switch (shape.t) {
    case 'json':
      return value;
    case 'set': {
      if (!Array.isArray(value)) throw encodeError('expected a list of strings', ptr);
      const uniq = [...new Set(value.map(String))];
      return uniq.sort(compareUtf8);
    }
    case 'array':
      if (!Array.isArray(value)) throw encodeError('expected a list', ptr);
      return value.map((v, i) => toTree(v, shape.of, `${ptr}/${i}`));
    case 'map': {
      if (!isPlainObject(value)) throw encodeError('expected a map', ptr);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) setKey(out, k, toTree(v, shape.of, `${ptr}/${k}`));
      return out;
    }
    case 'struct': {
      if (!isPlainObject(value)) throw encodeError('expected an object', ptr);
      return structTree(value, shape.fields, ptr);
    }
  }
}

function structTree(
  value: Record<string, unknown>,
  fields: readonly Field[],
  ptr: string,
  out = new Map<string, unknown>(),
): Map<string, unknown> {
  for (const field of fields) {
    let v = value[field.name];
    const p = `${ptr}/${field.name}`;
    switch (field.mode) {
      case 'skipNone':
        if (v === undefined || v === null) continue;
        break;
      case 'skipEmpty':
        if (isEmpty(v)) continue;
        break;
      case 'nullable':
        if (v === undefined || v === null) {
          out.set(field.name, null);
          continue;
        }
        break;
      case 'always':
        if (v === undefined) {
          if (field.dflt === undefined) throw encodeError(`missing required field "${field.name}"`, ptr);
          v = field.dflt();
        }
        break;
    }
    out.set(field.name, toTree(v, field.shape, p));
  }
  return out;
}

const utf8 = new TextEncoder();
function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
}

interface SymbolTables {
  component_ids: string[];
  node_ids: string[];
  capability_names: string[];
  pack_ids: string[];
}

/** The four bytewise-sorted string tables upstream derives from a manifest. */
export function buildSymbolTables(m: PackManifest): SymbolTables {
  const components = new Set<string>();
  const nodes = new Set<string>();
  const caps = new Set<string>();
  const packs = new Set<string>([m.pack_id]);
  for (const c of m.components) components.add(c.id);
  for (const entry of m.flows) {
    for (const [nodeId, node] of Object.entries(entry.flow.nodes)) {
      nodes.add(nodeId);
      components.add(node.component.id);
    }
  }
  for (const d of m.dependencies) {
    packs.add(d.pack_id);
    for (const c of d.required_capabilities) caps.add(c);
  }
  for (const c of m.capabilities) caps.add(c.name);
  const sorted = (s: Set<string>): string[] => [...s].sort(compareUtf8);
  return { component_ids: sorted(components), node_ids: sorted(nodes), capability_names: sorted(caps), pack_ids: sorted(packs) };
}

function indexer(table: string[], name: string): (id: string, ptr: string) => number {
  const idx = new Map(table.map((s, i) => [s, i]));
  return (id, ptr) => {
    const i = idx.get(id);
    if (i === undefined) throw encodeError(`"${id}" is not in symbols.${name}`, ptr);
    return i;
  };
}

function encodeRouting(r: Routing, nodeIndex: (id: string, ptr: string) => number, ptr: string): unknown {
  if (r === 'end') return 'End';
  if (r === 'reply') return 'Reply';
  if (typeof r === 'object' && r !== null) {
    if ('next' in r) return new Map([['Next', new Map([['node_id', nodeIndex(r.next.node_id, `${ptr}/next/node_id`)]])]]);
    if ('branch' in r) {
      const onStatus: Record<string, number> = {};
      for (const [k, v] of Object.entries(r.branch.on_status)) setKey(onStatus, k, nodeIndex(v, `${ptr}/branch/on_status/${k}`));
      const dflt = r.branch.default;
      return new Map([
        [
          'Branch',
          new Map<string, unknown>([
            ['on_status', onStatus],
            ['default', dflt === null || dflt === undefined ? null : nodeIndex(dflt, `${ptr}/branch/default`)],
          ]),
        ],
      ]);
    }
    if ('custom' in r) return new Map([['Custom', r.custom]]);
  }
  throw encodeError('unknown routing variant', ptr);
}

/** Encode a manifest the way greentic-types `encode_pack_manifest` does. */
export function encodePackManifest(m: PackManifest): Uint8Array {
  const symbols = buildSymbolTables(m);
  const compIx = indexer(symbols.component_ids, 'component_ids');
  const nodeIx = indexer(symbols.node_ids, 'node_ids');
  const capIx = indexer(symbols.capability_names, 'capability_names');
  const packIx = indexer(symbols.pack_ids, 'pack_ids');

  const top = new Map<string, unknown>();
  top.set('schema_version', m.schema_version);
  top.set('pack_id', packIx(m.pack_id, '/pack_id'));
  if (m.name !== undefined && m.name !== null) top.set('name', m.name);
  top.set('version', m.version);
  top.set('kind', m.kind);
  top.set('publisher', m.publisher);
  top.set(
    'symbols',
    new Map<string, unknown>([
      ['component_ids', symbols.component_ids],
      ['node_ids', symbols.node_ids],
      ['capability_names', symbols.capability_names],
      ['pack_ids', symbols.pack_ids],
    ]),
  );
  top.set(
    'components',
    m.components.map((c, i) => {
      const ptr = `/components/${i}`;
      return structTree(c as unknown as Record<string, unknown>, encodedComponentRest, ptr, new Map([['id', compIx(c.id, `${ptr}/id`)]]));
    }),
  );
  top.set(
    'flows',
    m.flows.map((entry, i) => {
      const ptr = `/flows/${i}`;
      const flow = entry.flow;
      const nodes = Object.entries(flow.nodes).map(([nodeId, node], j) =>
        encodeNode(nodeId, node, compIx, nodeIx, `${ptr}/flow/nodes/${j}`),
      );
      const entrypoints: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(flow.entrypoints ?? {})) setKey(entrypoints, k, v);
      const encodedFlow = new Map<string, unknown>([
        ['schema_version', flow.schema_version],
        ['id', flow.id],
        ['kind', flow.kind],
        ['entrypoints', entrypoints],
        ['nodes', nodes],
        ['metadata', toTree(flow.metadata ?? {}, metadataShape, `${ptr}/flow/metadata`)],
      ]);
      return new Map<string, unknown>([
        ['id', entry.id],
        ['kind', entry.kind],
        ['flow', encodedFlow],
        ['tags', entry.tags ?? []],
        ['entrypoints', entry.entrypoints ?? []],
      ]);
    }),
  );
  top.set(
    'dependencies',
    m.dependencies.map((d, i) => {
      const ptr = `/dependencies/${i}`;
      return new Map<string, unknown>([
        ['alias', d.alias],
        ['pack_id', packIx(d.pack_id, `${ptr}/pack_id`)],
        ['version_req', d.version_req],
        ['required_capabilities', d.required_capabilities.map((c, j) => capIx(c, `${ptr}/required_capabilities/${j}`))],
      ]);
    }),
  );
  top.set(
    'capabilities',
    m.capabilities.map(
      (c, i) =>
        new Map<string, unknown>([
          ['name', capIx(c.name, `/capabilities/${i}/name`)],
          ['description', c.description ?? null],
        ]),
    ),
  );
  if (m.secret_requirements !== undefined && m.secret_requirements.length > 0) {
    top.set('secret_requirements', toTree(m.secret_requirements, arr(secretRequirement), '/secret_requirements'));
  }
  top.set('signatures', new Map([['signatures', toTree(m.signatures?.signatures ?? [], arr(signatureShape), '/signatures/signatures')]]));
  if (m.bootstrap !== undefined && m.bootstrap !== null) top.set('bootstrap', toTree(m.bootstrap, bootstrapShape, '/bootstrap'));
  if (m.extensions !== undefined && m.extensions !== null && Object.keys(m.extensions).length > 0) {
    top.set('extensions', toTree(m.extensions, map(extensionRefShape), '/extensions'));
  }
  if (m.agents !== undefined && m.agents !== null && Object.keys(m.agents).length > 0)
    top.set('agents', toTree(m.agents, map(json), '/agents'));
  try {
    return encodeCbor(top, { keyOrder: 'bytewise', preserveMapOrder: true, allowFloats: true });
  } catch (e) {
    if (e instanceof CborError) throw encodeError(e.message, e.at);
    throw e;
  }
}

function encodeNode(
  nodeId: string,
  node: CompiledNode,
  compIx: (id: string, ptr: string) => number,
  nodeIx: (id: string, ptr: string) => number,
  ptr: string,
): Map<string, unknown> {
  const errMap = node.err_map;
  return new Map<string, unknown>([
    ['id', nodeIx(nodeId, `${ptr}/id`)],
    [
      'component',
      new Map<string, unknown>([
        ['id', compIx(node.component.id, `${ptr}/component/id`)],
        ['pack_alias', node.component.pack_alias ?? null],
        ['operation', node.component.operation ?? null],
      ]),
    ],
    ['input', toTree(node.input ?? {}, mappingShape, `${ptr}/input`)],
    ['output', toTree(node.output ?? {}, mappingShape, `${ptr}/output`)],
    ['err_map', errMap === undefined || errMap === null ? null : toTree(errMap, mappingShape, `${ptr}/err_map`)],
    ['routing', encodeRouting(node.routing, nodeIx, `${ptr}/routing`)],
    ['telemetry', toTree(node.telemetry ?? {}, telemetryShape, `${ptr}/telemetry`)],
  ]);
}

// ---------------------------------------------------------------------------------------------
// Decoding

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

/** A deep copy with `signatures.signatures` emptied: the message Ed25519 signs (§8.1). */
export function manifestSigningBytes(m: PackManifest): Uint8Array {
  return encodePackManifest({ ...m, signatures: { signatures: [] } });
}

const componentManifestSidecarFields: Field[] = [
  f('id', json),
  ...encodedComponentRest.map((x): Field => {
    if (x.name === 'configurators' || x.name === 'config_schema') return { ...x, mode: 'skipNone' };
    if (x.name === 'dev_flows') return { ...x, mode: 'skipEmpty' };
    return x;
  }),
];

/**
 * `components/<id>.manifest.cbor`: the serde form of `ComponentManifest` (absent Options skipped)
 * in canonical CBOR, floats allowed because schemas may carry them.
 */
export function encodeComponentManifest(c: ComponentManifest): Uint8Array {
  const tree = structTree(c as unknown as Record<string, unknown>, componentManifestSidecarFields, '');
  try {
    return encodeCbor(tree, { keyOrder: 'length-first', preserveMapOrder: false, allowFloats: true });
  } catch (e) {
    if (e instanceof CborError) throw encodeError(e.message, e.at);
    throw e;
  }
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
