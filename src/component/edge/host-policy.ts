/**
 * Grant checks for Greentic host imports, over abstract stores, so the edge (ComponentHost RPC
 * entrypoint) and the Node `greentic-component invoke` host share one set of semantics and error
 * codes. Error codes follow upstream: `state.read.denied`, `state.read.miss`, `state.write.denied`,
 * `state.delete.denied`; secrets `denied` / `not-found` / `invalid-key` / `internal` (a stored value that cannot be read or stored); http `denied`.
 */
import { errorMessage } from '../../core/coded-error.js';
import type { HostApi, HostResult, HttpRequestWire, HttpResponseWire } from '../isolate/protocol.js';

/** Who is calling: fixed by the parent, never by the component. */
export interface HostScope {
  env: string;
  tenant: string;
  team?: string;
  pack: string;
  component: string;
}

export interface ComponentGrants {
  /** Secret keys the component may `get`: the ones its manifest declares or may write. */
  secrets: string[];
  /**
   * Secret keys the component may `put` (secrets-store@1.1): only those its manifest lists in
   * `capabilities.host.secrets.writable`. Upstream allows a put of any allow-listed key.
   */
  secretsWritable: string[];
  state: { read: boolean; write: boolean; delete: boolean };
  /** Hosts (exact, or `*.suffix`) the tenant allows this component to call; null = no http. */
  http: { allowHosts: string[]; defaultTimeoutMs: number; maxTimeoutMs: number } | null;
  telemetry: boolean;
}

/** The subset of `component.manifest.json` that gates host imports. */
export interface ManifestCapabilities {
  capabilities?: {
    host?: {
      secrets?: { required?: { key: string }[]; writable?: string[] };
      state?: { read?: boolean; write?: boolean; delete?: boolean };
      http?: { client?: boolean };
      telemetry?: unknown;
    };
  };
  secret_requirements?: { key: string }[];
}

export interface TenantPolicy {
  /** Hosts the tenant lets its components reach over http-client. */
  httpAllowHosts: string[];
  httpTimeoutMs?: number;
}

export interface KeyValueStore {
  get(key: string): Promise<Uint8Array | null>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
}

export type HttpTransport = (req: Request) => Promise<Response>;

export interface TelemetrySink {
  log(scope: HostScope, fields: [string, string][]): void | Promise<void>;
}

export interface HostStores {
  state: KeyValueStore;
  secrets: KeyValueStore;
  http: HttpTransport;
  telemetry: TelemetrySink;
}

export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
export const MAX_HTTP_TIMEOUT_MS = 60_000;

export function grantsFor(manifest: ManifestCapabilities, tenant: TenantPolicy): ComponentGrants {
  const host = manifest.capabilities?.host ?? {};
  const secretKeys = new Set<string>();
  for (const r of host.secrets?.required ?? []) secretKeys.add(r.key);
  for (const r of manifest.secret_requirements ?? []) secretKeys.add(r.key);
  const writable = [...new Set(host.secrets?.writable ?? [])].sort();
  for (const key of writable) secretKeys.add(key);
  const state = host.state ?? {};
  // Upstream normalisation: delete implies write.
  const del = state.delete === true;
  return {
    secrets: [...secretKeys].sort(),
    secretsWritable: writable,
    state: { read: state.read === true, write: state.write === true || del, delete: del },
    http: host.http?.client
      ? {
          allowHosts: tenant.httpAllowHosts,
          defaultTimeoutMs: Math.min(tenant.httpTimeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS, MAX_HTTP_TIMEOUT_MS),
          maxTimeoutMs: MAX_HTTP_TIMEOUT_MS,
        }
      : null,
    telemetry: true,
  };
}

const part = (s: string): string => encodeURIComponent(s);

/** What partitions component state: every component of a pack shares its tenant's (and team's) state. */
export type StateScope = Pick<HostScope, 'env' | 'tenant' | 'team' | 'pack'>;

/** The start of every state key of a scope, and of no key of another scope. */
export function stateKeyPrefix(scope: StateScope): string {
  return `${['state', scope.env, scope.tenant, scope.team ?? '_', scope.pack].map(part).join('/')}/`;
}

/** State keys are partitioned by env/tenant/team/pack; a component cannot address another scope. */
export function stateStorageKey(scope: StateScope, key: string): string {
  return stateKeyPrefix(scope) + part(key);
}

/** Where secrets of one tenant in one environment are stored, by who wrote them. */
export interface SecretScope {
  env: string;
  tenant: string;
  team?: string;
}

/**
 * The operator's value (admin API): one per tenant, `secrets/<env>/<tenant>/_/<key>`. A
 * component's `get` reads it before anything a component wrote, and a component never writes it.
 */
export function operatorSecretKey(scope: SecretScope, key: string): string {
  return ['secrets', scope.env, scope.tenant, '_', key].map(part).join('/');
}

/** A component's `put` lands in its own namespace, per team (`_` without one). */
export function componentSecretKey(scope: SecretScope, key: string): string {
  return ['component-secrets', scope.env, scope.tenant, scope.team ?? '_', key].map(part).join('/');
}

/**
 * Where a team's `put` landed before component writes had their own namespace
 * (`secrets/<env>/<tenant>/<team>/<key>`): still read, and removed by the team's next `put`.
 * A team named `_` had none: its key is the operator's.
 */
export function formerComponentSecretKey(scope: SecretScope, key: string): string | undefined {
  return scope.team && scope.team !== '_' ? ['secrets', scope.env, scope.tenant, scope.team, key].map(part).join('/') : undefined;
}

/** The prefixes under which every stored secret of a tenant lives (for the admin listing). */
export function secretPrefixes(scope: SecretScope): { operator: string; component: string } {
  return {
    operator: `${['secrets', scope.env, scope.tenant].map(part).join('/')}/`,
    component: `${['component-secrets', scope.env, scope.tenant].map(part).join('/')}/`,
  };
}

/** Every prefix under which one environment's secrets live, in R2 key order (what the at-rest migration walks). */
export function envSecretPrefixes(env: string): string[] {
  return [`${['component-secrets', env].map(part).join('/')}/`, `${['secrets', env].map(part).join('/')}/`];
}

/**
 * What a component's `get` reads, first hit wins: the operator's value, then what a component
 * wrote for the team (current key, then the former one), then a tenant-wide component write.
 */
export function secretStorageKeys(scope: SecretScope, key: string): string[] {
  const keys = [operatorSecretKey(scope, key)];
  const former = formerComponentSecretKey(scope, key);
  if (scope.team) keys.push(componentSecretKey(scope, key), ...(former === undefined ? [] : [former]));
  keys.push(componentSecretKey({ ...scope, team: undefined }, key));
  return [...new Set(keys)];
}

export function hostAllowed(url: URL, allowHosts: string[]): boolean {
  const host = url.hostname.toLowerCase();
  return allowHosts.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.startsWith('*.') ? host.endsWith(p.slice(1)) : host === p;
  });
}

/**
 * The largest value a component may write under one state key: a Durable Object SQLite row holds
 * at most 2 MB, and the write travels in the turn's commit and one RPC to the state object.
 */
export const MAX_STATE_VALUE_BYTES = 1024 * 1024;

/** The largest secret value stored, through the admin API or a component's `put`. */
export const MAX_SECRET_BYTES = 64 * 1024;

/** Secret keys become parts of R2 keys (at most 1,024 bytes with tenant, team and env). */
export const MAX_SECRET_KEY_LENGTH = 256;
/** The secret-key rule the host enforces (and the admin secrets API, so a stored key is one a component can ask for). */
export const SECRET_KEY = new RegExp(`^(?!/)(?!.*\\.\\.)[A-Za-z0-9._\\-/]{1,${MAX_SECRET_KEY_LENGTH}}$`);

/**
 * Secret names the runtime keeps for its channel adapters (provider signing secrets and bot
 * tokens, set through the admin API): no component reads or writes them, whatever its manifest
 * declares. A new provider channel with credentials adds its prefix here.
 */
export const RUNTIME_SECRET_PREFIXES: readonly string[] = ['slack/', 'teams/', 'telegram/', 'whatsapp/'];

/** The reserved prefix a secret name falls under, if any. */
export function runtimeSecretPrefix(key: string): string | undefined {
  return RUNTIME_SECRET_PREFIXES.find((prefix) => key.startsWith(prefix));
}

const fail = (code: string, message: string): HostResult<never> => ({ ok: false, error: { code, message } });
const reserved = (key: string, prefix: string): HostResult<never> =>
  fail(
    'denied',
    `secret "${key}" is reserved for the runtime's ${prefix.slice(0, -1)} channel: no component may use names under "${prefix}"`,
  );
const ok = <T>(value: T): HostResult<T> => ({ ok: true, value });

export function createHostApi(scope: HostScope, grants: ComponentGrants, stores: HostStores): HostApi {
  const where = `component ${scope.component} of pack ${scope.pack} (tenant ${scope.tenant})`;
  return {
    async secretsGet(key) {
      if (!SECRET_KEY.test(key)) return fail('invalid-key', `secret key "${key}" is not a valid key`);
      const runtime = runtimeSecretPrefix(key);
      if (runtime !== undefined) return reserved(key, runtime);
      if (!grants.secrets.includes(key)) return fail('denied', `${where} does not declare secret "${key}" in its manifest`);
      try {
        for (const k of secretStorageKeys(scope, key)) {
          const value = await stores.secrets.get(k);
          if (value) return ok(value);
        }
      } catch (err) {
        // A stored value that does not open is an error, never a miss that falls through to the next key.
        return fail('internal', `secret "${key}" of tenant ${scope.tenant} could not be read: ${errorMessage(err)}`);
      }
      return ok(null);
    },
    async secretsPut(key, value) {
      if (!SECRET_KEY.test(key)) return fail('invalid-key', `secret key "${key}" is not a valid key`);
      const runtime = runtimeSecretPrefix(key);
      if (runtime !== undefined) return reserved(key, runtime);
      if (!grants.secretsWritable.includes(key))
        return fail(
          'denied',
          `${where} may not write secret "${key}": its manifest does not list it in capabilities.host.secrets.writable`,
        );
      if (value.byteLength > MAX_SECRET_BYTES)
        return fail('denied', `${where} may not store ${value.byteLength} bytes in secret "${key}" (limit ${MAX_SECRET_BYTES})`);
      try {
        // The operator's value always wins; refusing the put says so instead of storing a value no one reads.
        if (await stores.secrets.get(operatorSecretKey(scope, key)))
          return fail('denied', `${where} may not write secret "${key}": the tenant's operator has set it (admin API)`);
        await stores.secrets.put(componentSecretKey(scope, key), value);
        const former = formerComponentSecretKey(scope, key);
        if (former) await stores.secrets.delete(former);
      } catch (err) {
        return fail('internal', `secret "${key}" of tenant ${scope.tenant} could not be stored: ${errorMessage(err)}`);
      }
      return ok(null);
    },
    async stateRead(key) {
      if (!grants.state.read) return fail('state.read.denied', `${where} has no state read capability`);
      const value = await stores.state.get(stateStorageKey(scope, key));
      return value ? ok(value) : fail('state.read.miss', `no state under key "${key}"`);
    },
    async stateWrite(key, value) {
      if (!grants.state.write) return fail('state.write.denied', `${where} has no state write capability`);
      if (value.byteLength > MAX_STATE_VALUE_BYTES)
        return fail(
          'state.write.denied',
          `${where} may not store ${value.byteLength} bytes under state key "${key}" (limit ${MAX_STATE_VALUE_BYTES})`,
        );
      await stores.state.put(stateStorageKey(scope, key), value);
      return ok(null);
    },
    async stateDelete(key) {
      if (!grants.state.delete) return fail('state.delete.denied', `${where} has no state delete capability`);
      await stores.state.delete(stateStorageKey(scope, key));
      return ok(null);
    },
    async httpSend(req: HttpRequestWire, timeoutMs: number | null): Promise<HostResult<HttpResponseWire>> {
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        return fail('invalid-input', `"${req.url}" is not an absolute URL`);
      }
      if (!grants.http) return fail('denied', `${where} has no http client capability`);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return fail('denied', `scheme ${url.protocol} is not allowed`);
      if (!hostAllowed(url, grants.http.allowHosts))
        return fail('denied', `host ${url.hostname} is not on tenant ${scope.tenant}'s allow-list`);
      const timeout = Math.min(timeoutMs ?? grants.http.defaultTimeoutMs, grants.http.maxTimeoutMs);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeout);
      try {
        const res = await stores.http(
          new Request(url, {
            method: req.method,
            headers: req.headers,
            body: req.body && req.method !== 'GET' ? req.body : undefined,
            signal: controller.signal,
          }),
        );
        const body = new Uint8Array(await res.arrayBuffer());
        return ok({ status: res.status, headers: [...res.headers], body: body.length ? body : undefined });
      } catch (err) {
        if (controller.signal.aborted) return fail('timeout', `request to ${url.hostname} exceeded ${timeout} ms`);
        return fail('unavailable', `request to ${url.hostname} failed: ${errorMessage(err)}`);
      } finally {
        clearTimeout(timer);
      }
    },
    async log(fields) {
      if (!grants.telemetry) return fail('denied', `${where} has no telemetry capability`);
      await stores.telemetry.log(scope, fields);
      return ok(null);
    },
  };
}
