/**
 * The Greentic host imports in the shape jco's glue calls them (async functions it suspends on
 * through JSPI; `err` cases thrown as a `payload`), for components instantiated through the glue.
 * The glue-free paths lower the same calls themselves (greentic-abi.ts).
 */
import type { DirectCallbacks } from './greentic-abi.js';
import type { HostResult } from './protocol.js';

/** What an import needs from the call in progress (the direct path's callbacks, less fuel). */
export type GlueCallbacks = Pick<DirectCallbacks, 'host' | 'shouldCancel'>;

/** A host-import failure as jco expects it: the thrown value's `payload` becomes the `err` case. */
function importError(payload: unknown): Error {
  return Object.assign(new Error('host import failed'), { payload });
}

function unwrap<T>(res: HostResult<T>, mapError: (e: { code: string; message: string }) => unknown = (e) => e): T {
  if (res.ok) return res.value;
  throw importError(mapError(res.error));
}

/** Greentic host imports, keyed by `namespace:package/interface`. */
export function greenticImports(base: string, call: GlueCallbacks): Record<string, unknown> | undefined {
  switch (base) {
    case 'greentic:component/control':
      return { shouldCancel: () => call.shouldCancel(), yieldNow: () => {} };
    case 'greentic:secrets-store/secrets-store':
      return {
        get: async (key: string) => {
          // jco lowers option<list<u8>> from `undefined` (none) or the bytes.
          const value = unwrap(await call.host().secretsGet(key), (e) => e.code);
          return value ?? undefined;
        },
        put: async (key: string, value: Uint8Array) => {
          unwrap(await call.host().secretsPut(key, value), (e) => e.code);
        },
      };
    case 'greentic:state/state-store':
      return {
        read: async (key: string) => unwrap(await call.host().stateRead(key)),
        write: async (key: string, bytes: Uint8Array) => {
          unwrap(await call.host().stateWrite(key, bytes));
          return 'ok';
        },
        delete: async (key: string) => {
          unwrap(await call.host().stateDelete(key));
          return 'ok';
        },
      };
    case 'greentic:http/http-client':
      return {
        // jco keys imports without their version, so 1.1 `send(req, opts, ctx)` and 1.0
        // `send(req, ctx)` are told apart by arity.
        send: async (req: { method: string; url: string; headers: [string, string][]; body?: Uint8Array }, ...rest: unknown[]) => {
          const opts = rest.length >= 2 ? (rest[0] as { timeoutMs?: number } | undefined) : undefined;
          const timeout = opts?.timeoutMs ?? null;
          const res = unwrap(
            await call.host().httpSend({ method: req.method, url: req.url, headers: req.headers, body: req.body }, timeout),
          );
          return { status: res.status, headers: res.headers, body: res.body };
        },
      };
    case 'greentic:telemetry/logger-api':
      return {
        log: async (_span: unknown, fields: [string, string][]) => {
          unwrap(await call.host().log(fields));
          return 'ok';
        },
      };
    default:
      return undefined;
  }
}
