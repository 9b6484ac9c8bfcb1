// `pack.lock.cbor` (PackLockV1, canonical CBOR): per component, the resolved wasm digest, the
// describe() hash and per-operation schema hashes.
import { isObject } from '../core/is-object.js';
import { CborError, decodeCbor, encodeCanonicalCbor } from './cbor.js';
import { PackError } from './errors.js';

export interface PackLockComponent {
  component_id: string;
  ref?: string;
  abi_version: string;
  resolved_digest: string;
  describe_hash: string;
  operations: Array<{ operation_id: string; schema_hash: string }>;
  world?: string;
  component_version?: string;
  role?: string;
}

export interface PackLock {
  version: 1;
  components: Record<string, PackLockComponent>;
}

export function encodePackLock(lock: PackLock): Uint8Array {
  const components: Record<string, PackLockComponent> = {};
  for (const [k, c] of Object.entries(lock.components)) {
    components[k] = {
      ...c,
      operations: [...c.operations].sort((a, b) => (a.operation_id < b.operation_id ? -1 : a.operation_id > b.operation_id ? 1 : 0)),
    };
  }
  return encodeCanonicalCbor({ version: lock.version, components });
}

export function decodePackLock(bytes: Uint8Array, where = 'pack.lock.cbor'): PackLock {
  let raw: unknown;
  try {
    raw = decodeCbor(bytes);
  } catch (e) {
    throw new PackError('ManifestDecode', e instanceof CborError ? e.message : String(e), where);
  }
  const fail = (msg: string, ptr: string): never => {
    throw new PackError('ManifestDecode', msg, `${where}${ptr}`);
  };
  if (!isObject(raw)) return fail('expected a map', '');
  const doc = raw;
  if (doc.version !== 1) fail(`version is ${JSON.stringify(doc.version)}, expected 1`, '/version');
  const comps = doc.components;
  if (!isObject(comps)) return fail('components is not a map', '/components');
  const out: Record<string, PackLockComponent> = {};
  for (const [key, v] of Object.entries(comps)) {
    const ptr = `/components/${key}`;
    if (typeof v !== 'object' || v === null) fail('expected a map', ptr);
    const c = v as Record<string, unknown>;
    if (c.component_id !== key) fail(`component_id ${JSON.stringify(c.component_id)} must equal its key`, `${ptr}/component_id`);
    if (typeof c.resolved_digest !== 'string') fail('resolved_digest is missing', `${ptr}/resolved_digest`);
    if (typeof c.describe_hash !== 'string') fail('describe_hash is missing', `${ptr}/describe_hash`);
    out[key] = {
      ...(c as object),
      component_id: key,
      abi_version: typeof c.abi_version === 'string' ? c.abi_version : '',
      resolved_digest: c.resolved_digest as string,
      describe_hash: c.describe_hash as string,
      operations: Array.isArray(c.operations) ? (c.operations as PackLockComponent['operations']) : [],
    };
  }
  return { version: 1, components: out };
}
