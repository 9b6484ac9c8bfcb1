/**
 * A node@0.6.0 component's `describe()` record and `invoke` payloads as the CLI shows them: JSON,
 * with CBOR values decoded (upstream's harness conventions).
 */
import { isObject } from '../../core/is-object.js';
import { decodeCbor, encodeCanonicalCbor } from '../../pack/cbor.js';

export interface DescribedSchema {
  content_type: string;
  schema_version?: string;
  /** One of `inline_cbor` (decoded), `cbor_schema_id`, `ref_pack_path`, `ref_uri`. */
  schema: Record<string, unknown>;
}

export interface DescribedComponent {
  abi: string;
  /**
   * `describe` when the component's own `describe()` answered; `manifest` / `none` when it exports
   * `invoke` only (upstream never calls `describe`) and this record says what its component
   * manifest, if any, declares.
   */
  source?: 'describe' | 'manifest' | 'none';
  name: string;
  version: string;
  summary?: string;
  capabilities: string[];
  ops: {
    name: string;
    summary?: string;
    input: DescribedSchema;
    output: DescribedSchema;
    examples: { title: string; input: unknown; output: unknown }[];
  }[];
  schemas: { id: string; content_type: string; blake3_hash: string; version: string; uri?: string }[];
  setup?: unknown;
}

type RawSchemaSource = { tag: string; val: string | Uint8Array };
interface RawIoSchema {
  schema: RawSchemaSource;
  contentType: string;
  schemaVersion?: string;
}
export interface RawDescriptor {
  name: string;
  version: string;
  summary?: string;
  capabilities: string[];
  ops: {
    name: string;
    summary?: string;
    input: RawIoSchema;
    output: RawIoSchema;
    examples: { title: string; inputCbor: Uint8Array; outputCbor: Uint8Array }[];
  }[];
  schemas: { id: string; contentType: string; blake3Hash: string; version: string; bytes?: Uint8Array; uri?: string }[];
  setup?: unknown;
}

/** CBOR values as JSON: bigints that fit become numbers, byte strings become `{ $bytes: hex }`. */
export function cborValueToJson(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(cborValueToJson);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), cborValueToJson(x)]));
  if (isObject(v)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cborValueToJson(x)]));
  }
  return v;
}

export function decodeOrRaw(bytes: Uint8Array | undefined): unknown {
  if (bytes === undefined) return undefined;
  if (bytes.length === 0) return null;
  try {
    return cborValueToJson(decodeCbor(bytes));
  } catch {
    // Upstream templates fall back to JSON bytes when CBOR does not decode.
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    } catch {
      return { $bytes: Buffer.from(bytes).toString('hex') };
    }
  }
}

function describeSchema(s: RawIoSchema): DescribedSchema {
  const key = s.schema.tag.replace(/-/g, '_');
  const val = s.schema.val instanceof Uint8Array ? decodeOrRaw(s.schema.val) : s.schema.val;
  return {
    content_type: s.contentType,
    ...(s.schemaVersion !== undefined ? { schema_version: s.schemaVersion } : {}),
    schema: { [key]: val },
  };
}

export function describedComponent(d: RawDescriptor): DescribedComponent {
  return {
    abi: 'greentic:component/node@0.6.0',
    source: 'describe',
    name: d.name,
    version: d.version,
    ...(d.summary !== undefined ? { summary: d.summary } : {}),
    capabilities: [...d.capabilities],
    ops: d.ops.map((o) => ({
      name: o.name,
      ...(o.summary !== undefined ? { summary: o.summary } : {}),
      input: describeSchema(o.input),
      output: describeSchema(o.output),
      examples: o.examples.map((e) => ({ title: e.title, input: decodeOrRaw(e.inputCbor), output: decodeOrRaw(e.outputCbor) })),
    })),
    schemas: d.schemas.map((s) => ({
      id: s.id,
      content_type: s.contentType,
      blake3_hash: s.blake3Hash,
      version: s.version,
      ...(s.uri !== undefined ? { uri: s.uri } : {}),
    })),
    ...(d.setup !== undefined ? { setup: cborValueToJson(d.setup) } : {}),
  };
}

/** Upstream harness convention: non-objects become `{input: v}`; `operation` is added when absent. */
export function payloadForInvoke(op: string, input: unknown): Uint8Array {
  const obj: Record<string, unknown> = isObject(input) ? { ...input } : { input };
  if (!('operation' in obj)) obj.operation = op;
  return encodeCanonicalCbor(obj, { allowFloats: true });
}

/** What a component manifest (pack CBOR or `component.manifest.json`) says, for `synthesizedDescriptor`. */
export interface ManifestFacts {
  id: string;
  version: string;
  operations?: { name: string; description?: string; input_schema?: unknown; output_schema?: unknown }[];
  capabilities?: {
    wasi?: { filesystem?: { mode?: string }; random?: boolean; clocks?: boolean };
    host?: Record<string, unknown>;
  };
}

/** greentic-pack's capability names for a component manifest (greentic-interfaces §9.3). */
function capabilityNames(caps: ManifestFacts['capabilities']): string[] {
  const out: string[] = [];
  const host = caps?.host ?? {};
  const state = isObject(host.state) ? host.state : undefined;
  if (isObject(host.secrets) && Array.isArray(host.secrets.required) && host.secrets.required.length > 0) out.push('host:secrets');
  if (state?.read === true) out.push('host:state:read');
  if (state?.write === true || state?.delete === true) out.push('host:state:write');
  for (const [key, name] of [
    ['messaging', 'host:messaging'],
    ['events', 'host:events'],
    ['http', 'host:http'],
    ['telemetry', 'host:telemetry'],
    ['iac', 'host:iac'],
  ] as const) {
    if (host[key] !== undefined && host[key] !== null) out.push(name);
  }
  const mode = caps?.wasi?.filesystem?.mode;
  if (typeof mode === 'string') out.push(`wasi:fs:${mode}`);
  if (caps?.wasi?.random === true) out.push('wasi:random');
  if (caps?.wasi?.clocks === true) out.push('wasi:clocks');
  return out;
}

const jsonSchema = (schema: unknown): DescribedSchema => ({ content_type: 'application/json', schema: { inline_json: schema ?? {} } });

/**
 * The record `describe` prints for a node@0.6.0 component that exports `invoke` only: its
 * manifest's id, version, operations and capabilities when one is beside it, else only its name.
 */
export function synthesizedDescriptor(fallbackName: string, manifest: ManifestFacts | undefined): DescribedComponent {
  return {
    abi: 'greentic:component/node@0.6.0',
    source: manifest === undefined ? 'none' : 'manifest',
    name: manifest?.id ?? fallbackName,
    version: manifest?.version ?? '',
    summary:
      manifest === undefined
        ? 'exports node@0.6.0 invoke only (no describe) and no component manifest is beside it: its operations are unknown'
        : 'exports node@0.6.0 invoke only (no describe); operations and capabilities are those its component manifest declares',
    capabilities: capabilityNames(manifest?.capabilities),
    ops: (manifest?.operations ?? []).map((o) => ({
      name: o.name,
      ...(o.description !== undefined ? { summary: o.description } : {}),
      input: jsonSchema(o.input_schema),
      output: jsonSchema(o.output_schema),
      examples: [],
    })),
    schemas: [],
  };
}
