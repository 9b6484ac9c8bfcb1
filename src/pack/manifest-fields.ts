// Shapes: how each serde struct of the manifest is written. `always` fields are written even when
// absent (with their serde default), `nullable` ones become null, `skip` ones are omitted when
// None/empty. Field order is declaration order, which the encoded bytes (and so signatures) follow.
import { CborFloat } from './cbor.js';

export type Shape = { t: 'json' } | { t: 'struct'; fields: Field[] } | { t: 'array'; of: Shape } | { t: 'map'; of: Shape } | { t: 'set' };
type Mode = 'always' | 'nullable' | 'skipNone' | 'skipEmpty';
export interface Field {
  name: string;
  shape: Shape;
  mode: Mode;
  dflt?: () => unknown;
}

export const json: Shape = { t: 'json' };
const struct = (...fields: Field[]): Shape => ({ t: 'struct', fields });
export const arr = (of: Shape): Shape => ({ t: 'array', of });
export const map = (of: Shape): Shape => ({ t: 'map', of });
const f = (name: string, shape: Shape, mode: Mode = 'always', dflt?: () => unknown): Field =>
  dflt === undefined ? { name, shape, mode } : { name, shape, mode, dflt };
const emptyArr = (): unknown[] => [];
const emptyObj = (): Record<string, unknown> => ({});
const no = (): boolean => false;

const boolPair = (a: string, b: string): Shape => struct(f(a, json, 'always', no), f(b, json, 'always', no));
export const secretRequirement = struct(
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
      // `writable` is this runner's addition (secrets-store `put` grants); omitted when empty, so
      // upstream-shaped manifests encode (and sign) exactly as upstream's.
      f('secrets', struct(f('required', arr(secretRequirement), 'always', emptyArr), f('writable', json, 'skipEmpty')), 'skipNone'),
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
export const encodedComponentRest: Field[] = [
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
/** `components/<id>.manifest.cbor` and component JSON files: the same fields, absent Options skipped. */
export const componentManifestSidecarFields: Field[] = [
  f('id', json),
  ...encodedComponentRest.map((x): Field => {
    if (x.name === 'configurators' || x.name === 'config_schema') return { ...x, mode: 'skipNone' };
    if (x.name === 'dev_flows') return { ...x, mode: 'skipEmpty' };
    return x;
  }),
];

export const mappingShape = struct(f('mapping', json, 'always', () => null));
export const telemetryShape = struct(
  f('span_name', json, 'skipNone'),
  f('attributes', map(json), 'always', emptyObj),
  f('sampling', json, 'skipNone'),
);
export const metadataShape = struct(
  f('title', json, 'skipNone'),
  f('description', json, 'skipNone'),
  f('tags', { t: 'set' }, 'always', emptyArr),
  f('extra', json, 'always', () => null),
);
export const signatureShape = struct(f('key_id', json), f('algorithm', json), f('signature', json));
export const extensionRefShape = struct(
  f('kind', json),
  f('version', json),
  f('digest', json, 'skipNone'),
  f('location', json, 'skipNone'),
  f('inline', json, 'skipNone'),
);
export const bootstrapShape = struct(
  f('install_flow', json, 'skipNone'),
  f('upgrade_flow', json, 'skipNone'),
  f('installer_component', json, 'skipNone'),
);

// Plain objects stand for serde maps and structs in both directions; byte strings, floats kept as
// `CborFloat` and `Map`s are values, not objects.
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || v instanceof CborFloat) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Sets a key as an own data property, so a key such as `__proto__` stays an ordinary key. */
export function setKey(obj: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
}
