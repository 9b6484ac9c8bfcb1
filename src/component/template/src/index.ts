// A Greentic node component (greentic:component@0.6.0). Payloads in and out are canonical CBOR
// of JSON-like values; domain failures are answered as `{ ok: false, error }` so flows can route
// on them, while `node-error` is kept for failures the host should see (and maybe retry).
import type { ComponentDescriptor, InvocationEnvelope, InvocationResult, Op } from 'greentic:component/node@0.6.0';
import { get as getSecret } from 'greentic:secrets-store/secrets-store@1.0.0';
import { read as readState, write as writeState } from 'greentic:state/state-store@1.0.0';
import { decodeCbor, encodeCanonicalCbor } from './cbor.js';
import { COMPONENT_NAME, COMPONENT_VERSION } from './component-info.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const ANY_OBJECT = encodeCanonicalCbor({ type: 'object', properties: {}, required: [], additional: { type: 'allow' } });

function op(name: string, summary: string): Op {
  const schema = { schema: { tag: 'inline-cbor', val: ANY_OBJECT } as const, contentType: 'application/cbor', schemaVersion: undefined };
  return { name, summary, input: schema, output: schema, examples: [] };
}

const OPERATIONS: Op[] = [
  op('handle_message', 'Answers with the payload it was given'),
  op('remember', 'Stores `value` under state key `key`'),
  op('recall', 'Reads state key `key`'),
  op('secret', 'Reports whether secret `name` is available (never its value)'),
];

function describe(): ComponentDescriptor {
  return {
    name: COMPONENT_NAME,
    version: COMPONENT_VERSION,
    summary: 'Scaffolded by greentic-component new',
    capabilities: ['host:state', 'host:secrets'],
    ops: OPERATIONS,
    schemas: [],
    setup: undefined,
  };
}

function reply(output: Json): InvocationResult {
  return { ok: true, outputCbor: encodeCanonicalCbor(output, { allowFloats: true }), outputMetadataCbor: undefined };
}

function asObject(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { input: v };
}

/** Host import failures arrive as thrown errors whose `payload` is the WIT error value. */
function hostErrorCode(e: unknown): string {
  const payload = (e as { payload?: unknown }).payload;
  if (typeof payload === 'string') return payload;
  if (payload && typeof payload === 'object' && typeof (payload as { code?: unknown }).code === 'string') {
    return (payload as { code: string }).code;
  }
  return e instanceof Error ? e.message : String(e);
}

function invoke(opName: string, envelope: InvocationEnvelope): InvocationResult {
  const payload = asObject(decodeCbor(envelope.payloadCbor));
  const key = typeof payload.key === 'string' ? payload.key : 'default';
  switch (opName) {
    case 'handle_message':
      return reply({ ok: true, echo: payload as Json });
    case 'remember':
      try {
        writeState(key, encodeCanonicalCbor(payload.value ?? null, { allowFloats: true }), undefined);
        return reply({ ok: true, key });
      } catch (e) {
        return reply({ ok: false, error: hostErrorCode(e) });
      }
    case 'recall':
      try {
        return reply({ ok: true, key, value: decodeCbor(readState(key, undefined)) as Json });
      } catch (e) {
        return reply({ ok: false, error: hostErrorCode(e) });
      }
    case 'secret': {
      const name = typeof payload.name === 'string' ? payload.name : '';
      try {
        const value = getSecret(name);
        return reply({ ok: true, name, present: value !== undefined, bytes: value?.length ?? 0 });
      } catch (e) {
        return reply({ ok: false, name, error: hostErrorCode(e) });
      }
    }
    default:
      return reply({ ok: false, error: `unsupported op: ${opName}` });
  }
}

export const node = { describe, invoke };
