/**
 * What a local run (`greentic-component invoke`) gives a component instead of the edge's R2 and
 * tenant: grants (from its manifest, or the local defaults), in-memory or per-directory state,
 * and the supplied secrets where the edge's lookup finds them.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ComponentGrants,
  grantsFor,
  type HostScope,
  type KeyValueStore,
  type ManifestCapabilities,
  operatorSecretKey,
} from '../edge/host-policy.js';
import { NodeHostError } from './node-host-error.js';

/** Grants for a local run without a manifest: state open, only the supplied secrets, no HTTP. */
export function localGrants(secretKeys: string[]): ComponentGrants {
  return {
    secrets: [...secretKeys].sort(),
    secretsWritable: [],
    state: { read: true, write: true, delete: true },
    http: null,
    telemetry: true,
  };
}

/** Grants from a parsed `component.manifest.json`, with the edge's rules (edge/host-policy.ts). */
export function grantsFromManifest(manifest: unknown, where = 'component.manifest.json', httpAllowHosts: string[] = []): ComponentGrants {
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    throw new NodeHostError('ManifestInvalid', `${where}: not a JSON object`);
  }
  return grantsFor(manifest as ManifestCapabilities, { httpAllowHosts });
}

export function memoryStore(): KeyValueStore {
  const m = new Map<string, Uint8Array>();
  return {
    get: async (k) => m.get(k) ?? null,
    put: async (k, v) => void m.set(k, v),
    delete: async (k) => void m.delete(k),
  };
}

/** One file per storage key; the key is percent-encoded so any string is a safe file name. */
export function directoryStore(dir: string): KeyValueStore {
  mkdirSync(dir, { recursive: true });
  const file = (key: string) => join(dir, `${encodeURIComponent(key).replace(/\./g, '%2E')}.bin`);
  return {
    get: async (k) => (existsSync(file(k)) ? new Uint8Array(readFileSync(file(k))) : null),
    put: async (k, v) => writeFileSync(file(k), v),
    delete: async (k) => rmSync(file(k), { force: true }),
  };
}

/** Local runs act as tenant `local` in env `dev`; the scope partitions state like the edge does. */
export const LOCAL_SCOPE: HostScope = { env: 'dev', tenant: 'local', pack: 'local', component: 'local' };

/** A secrets store holding `secrets` as the tenant's operator values, where the edge's lookup finds them first. */
export function secretsStoreFrom(secrets: Record<string, string | Uint8Array>, scope: HostScope = LOCAL_SCOPE): KeyValueStore {
  const store = memoryStore();
  const te = new TextEncoder();
  for (const [key, value] of Object.entries(secrets)) {
    void store.put(operatorSecretKey(scope, key), typeof value === 'string' ? te.encode(value) : value);
  }
  return store;
}
