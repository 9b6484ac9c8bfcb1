/**
 * The Greentic WIT types the isolate lowers and lifts itself, as canonical-ABI type descriptions
 * (canon.ts). Field names are WIT's; `wit/` holds the packages they come from.
 */
import { t } from './canon.js';

// greentic:interfaces-types@0.1.0
export const impersonation = t.record([
  ['actor-id', t.string],
  ['reason', t.option(t.string)],
]);
export const tenantCtx19 = t.record([
  ['env', t.string],
  ['tenant', t.string],
  ['tenant-id', t.string],
  ['team', t.option(t.string)],
  ['team-id', t.option(t.string)],
  ['user', t.option(t.string)],
  ['user-id', t.option(t.string)],
  ['trace-id', t.option(t.string)],
  ['i18n-id', t.option(t.string)],
  ['correlation-id', t.option(t.string)],
  ['attributes', t.list(t.tuple(t.string, t.string))],
  ['session-id', t.option(t.string)],
  ['flow-id', t.option(t.string)],
  ['node-id', t.option(t.string)],
  ['provider-id', t.option(t.string)],
  ['deadline-ms', t.option(t.s64)],
  ['attempt', t.u32],
  ['idempotency-key', t.option(t.string)],
  ['impersonation', t.option(impersonation)],
]);
export const hostError = t.record([
  ['code', t.string],
  ['message', t.string],
]);
export const spanContext = t.record([
  ['tenant', t.string],
  ['session-id', t.option(t.string)],
  ['flow-id', t.string],
  ['node-id', t.option(t.string)],
  ['provider', t.string],
  ['start-ms', t.option(t.s64)],
  ['end-ms', t.option(t.s64)],
]);
export const headers = t.list(t.tuple(t.string, t.string));
export const httpRequest = t.record([
  ['method', t.string],
  ['url', t.string],
  ['headers', headers],
  ['body', t.option(t.list(t.u8))],
]);
export const httpResponse = t.record([
  ['status', t.u16],
  ['headers', headers],
  ['body', t.option(t.list(t.u8))],
]);
export const requestOptions = t.record([
  ['timeout-ms', t.option(t.u32)],
  ['allow-insecure', t.option(t.bool)],
  ['follow-redirects', t.option(t.bool)],
]);
export const opAck = t.enum('ok');
export const secretsError = t.enum('not-found', 'denied', 'invalid-key', 'internal');
export const bytes = t.list(t.u8);

// greentic:types-core@0.6.0 and greentic:component/node@0.6.0
export const tenantCtx10 = t.record([
  ['tenant-id', t.string],
  ['team-id', t.option(t.string)],
  ['user-id', t.option(t.string)],
  ['env-id', t.string],
  ['trace-id', t.string],
  ['correlation-id', t.string],
  ['deadline-ms', t.u64],
  ['attempt', t.u32],
  ['idempotency-key', t.option(t.string)],
  ['i18n-id', t.string],
]);
export const invocationEnvelope = t.record([
  ['ctx', tenantCtx10],
  ['flow-id', t.string],
  ['step-id', t.string],
  ['component-id', t.string],
  ['attempt', t.u32],
  ['payload-cbor', bytes],
  ['metadata-cbor', t.option(bytes)],
]);
export const invocationResult = t.record([
  ['ok', t.bool],
  ['output-cbor', bytes],
  ['output-metadata-cbor', t.option(bytes)],
]);
export const nodeError = t.record([
  ['code', t.string],
  ['message', t.string],
  ['retryable', t.bool],
  ['backoff-ms', t.option(t.u64)],
  ['details', t.option(bytes)],
]);

/** The node@0.6.0 `invoke` parameters (op, envelope) and result, the shapes generated code handles. */
export const nodeAbiTypes = {
  tenantCtx10,
  invocationEnvelope,
  invocationResult,
  nodeError,
  invokeParams: t.tuple(t.string, invocationEnvelope),
  invokeResult: t.result(invocationResult, nodeError),
};
