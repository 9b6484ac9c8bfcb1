/**
 * The parent's side of host imports, handed to component isolates with each call: a HostTarget
 * (an RpcTarget the runner builds, production) or the ComponentHost entrypoint over it. Props
 * (tenant, env, team, pack, component, grants) are set by the parent, so a component can neither
 * pick its tenant nor widen its grants. Storage: secrets in R2 (`PACKS`) under `secrets/…` (see
 * host-policy.ts keys), sealed at rest (edge/secret-objects.ts); state in the component state
 * object of the scope (state-object.ts), through the turn's buffer when the host serves a turn.
 */
import { RpcTarget, WorkerEntrypoint } from 'cloudflare:workers';
import { errorMessage } from '../../core/coded-error.js';
import { requireKeyring } from '../../edge/secret-cipher.js';
import { readSecretObject, writeSecretObject } from '../../edge/secret-objects.js';
import { logEvent } from '../../edge/telemetry.js';
import type { Env } from '../../env.js';
import type { HostApi, HttpRequestWire } from '../isolate/protocol.js';
import { type ComponentGrants, createHostApi, type HostScope, type HostStores, type KeyValueStore } from './host-policy.js';
import { type ComponentStateStores, directStateStores } from './state-object.js';

export interface HostProps extends HostScope {
  grants: ComponentGrants;
}

export function r2KeyValueStore(bucket: R2Bucket): KeyValueStore {
  return {
    async get(key) {
      const obj = await bucket.get(key);
      return obj ? new Uint8Array(await obj.arrayBuffer()) : null;
    },
    async put(key, value) {
      await bucket.put(key, value);
    },
    async delete(key) {
      await bucket.delete(key);
    },
  };
}

/**
 * Secrets in R2, sealed under the deployment's keyring (`keys`: the SECRETS_ENCRYPTION_KEYS
 * setting). A component learns only the WIT error code of a failure, so the reason is logged here.
 */
export function r2SecretStore(bucket: R2Bucket, keys: string | undefined): KeyValueStore {
  const logged = async <T>(storageKey: string, op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      logEvent('error', 'component.secret_failed', { 'r2.key': storageKey, error: errorMessage(err) });
      throw err;
    }
  };
  return {
    get: (key) => logged(key, () => readSecretObject(bucket, keys, key)),
    put: (key, value) =>
      logged(key, async () => {
        const keyring = await requireKeyring(keys, `a component's secret cannot be stored`);
        await writeSecretObject(bucket, keyring, key, value, new Date().toISOString());
      }),
    async delete(key) {
      await bucket.delete(key);
    },
  };
}

/** Every store but state, which depends on whether the host serves a turn (`HostTarget`). */
export function edgeHostStores(env: Env): Omit<HostStores, 'state'> {
  return {
    secrets: r2SecretStore(env.PACKS, env.SECRETS_ENCRYPTION_KEYS),
    http: (req) => fetch(req),
    telemetry: {
      log(scope, fields) {
        console.log(
          JSON.stringify({
            level: 'info',
            source: 'component',
            tenant: scope.tenant,
            pack: scope.pack,
            component: scope.component,
            fields: Object.fromEntries(fields),
          }),
        );
      },
    },
  };
}

/**
 * The host API as an in-process RpcTarget: the isolate receives a stub to an object the parent
 * constructed with fixed props, without the loopback hop through `ctx.exports` (production).
 * `state` is the turn's buffer in production; without one, writes reach the state objects at once.
 */
export class HostTarget extends RpcTarget implements HostApi {
  private readonly api: HostApi;
  constructor(props: HostProps, env: Env, state: ComponentStateStores = directStateStores(env.COMPONENT_STATE)) {
    super();
    const { grants, ...scope } = props;
    this.api = createHostApi(scope, grants, { ...edgeHostStores(env), state: state(scope) });
  }
  secretsGet(key: string) {
    return this.api.secretsGet(key);
  }
  secretsPut(key: string, value: Uint8Array) {
    return this.api.secretsPut(key, value);
  }
  stateRead(key: string) {
    return this.api.stateRead(key);
  }
  stateWrite(key: string, value: Uint8Array) {
    return this.api.stateWrite(key, value);
  }
  stateDelete(key: string) {
    return this.api.stateDelete(key);
  }
  httpSend(req: HttpRequestWire, timeoutMs: number | null) {
    return this.api.httpSend(req, timeoutMs);
  }
  log(fields: [string, string][]) {
    return this.api.log(fields);
  }
}

/**
 * The same API as a WorkerEntrypoint, for `ctx.exports.ComponentHost({ props })` (a loopback
 * RPC hop; the benchmark compares it with HostTarget). Each method forwards to a HostTarget built
 * from this entrypoint's props; RPC needs the methods on the class itself, so they stay listed.
 */
export class ComponentHost extends WorkerEntrypoint<Env, HostProps> implements HostApi {
  private target?: HostTarget;
  private host(): HostTarget {
    this.target ??= new HostTarget(this.ctx.props, this.env);
    return this.target;
  }
  secretsGet(key: string) {
    return this.host().secretsGet(key);
  }
  secretsPut(key: string, value: Uint8Array) {
    return this.host().secretsPut(key, value);
  }
  stateRead(key: string) {
    return this.host().stateRead(key);
  }
  stateWrite(key: string, value: Uint8Array) {
    return this.host().stateWrite(key, value);
  }
  stateDelete(key: string) {
    return this.host().stateDelete(key);
  }
  httpSend(req: HttpRequestWire, timeoutMs: number | null) {
    return this.host().httpSend(req, timeoutMs);
  }
  log(fields: [string, string][]) {
    return this.host().log(fields);
  }
}

/**
 * `host` for ComponentRunner: an RpcTarget handed to the isolate with each invocation (no loopback
 * hop; the default choice). A runner asks for the same scope and grants on every call of a
 * component, so the target is built once per (scope, grants) and reused: constructing an
 * RpcTarget costs a few microseconds, a visible share of a warm invoke. A stub to it still travels
 * with each call only. `state`: the turn's component state buffer (the runner lives for one turn).
 */
export function hostTargetFactory(env: Env, state?: ComponentStateStores): (props: HostProps) => HostApi {
  const made = new Map<string, { props: HostProps; target: HostTarget }>();
  return (props) => {
    const hit = made.get(props.component);
    if (
      hit &&
      hit.props.grants === props.grants &&
      hit.props.env === props.env &&
      hit.props.tenant === props.tenant &&
      hit.props.team === props.team &&
      hit.props.pack === props.pack
    ) {
      return hit.target;
    }
    const target = new HostTarget(props, env, state);
    made.set(props.component, { props, target });
    return target;
  };
}
