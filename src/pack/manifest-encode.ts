// `manifest.cbor` encoding: greentic-types `PackManifest` in its "symbol table" layout. Component,
// node, capability and pack ids become integer indexes into bytewise-sorted string tables; struct
// fields are written in declaration order (expressed as `Map`s, which the encoder keeps in order);
// serde_json values and BTreeMaps are plain objects, which the encoder sorts bytewise. Which
// Options are written as null and which are omitted follows upstream's encoded mirror structs
// exactly, because signatures are computed over a re-encoding and must match upstream's bytes.
import type { CompiledNode, Routing } from '../flow/model.js';
import { CborError, decodeCbor, encodeCbor } from './cbor.js';
import { PackError } from './errors.js';
import {
  arr,
  bootstrapShape,
  componentManifestSidecarFields,
  encodedComponentRest,
  extensionRefShape,
  type Field,
  isPlainObject,
  json,
  map,
  mappingShape,
  metadataShape,
  type Shape,
  secretRequirement,
  setKey,
  signatureShape,
  telemetryShape,
} from './manifest-fields.js';
import type { ComponentManifest, PackManifest, SymbolTables } from './manifest-types.js';

function encodeError(message: string, pointer: string): PackError {
  return new PackError('ManifestEncode', message, `manifest.cbor${pointer}`);
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

/**
 * The archived manifest bytes with only `signatures` replaced by `m`'s: every other byte stays as
 * the pack's builder wrote it (an upstream manifest missing `err_map` keeps missing it), where
 * re-encoding the model would normalise it.
 */
export function replaceSignatures(original: Uint8Array, m: PackManifest): Uint8Array {
  const raw = decodeCbor(original, { preserveFloats: true, mapsAsMap: true });
  const fresh = decodeCbor(encodePackManifest(m), { preserveFloats: true, mapsAsMap: true });
  if (!(raw instanceof Map) || !(fresh instanceof Map))
    throw new PackError('ManifestEncode', 'the manifest is not a CBOR map', 'manifest.cbor');
  raw.set('signatures', fresh.get('signatures'));
  return encodeCbor(raw, { allowFloats: true, preserveMapOrder: true });
}

/** A deep copy with `signatures.signatures` emptied: the message Ed25519 signs (§8.1). */
export function manifestSigningBytes(m: PackManifest): Uint8Array {
  return encodePackManifest({ ...m, signatures: { signatures: [] } });
}

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
