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
  op('receipt', 'Numbers an order (counter kept in component state) and writes its receipt line'),
  op('api_status', 'Reports whether the granted secret DEMO_API_KEY is configured (never its value)'),
];

function describe(): ComponentDescriptor {
  return {
    name: COMPONENT_NAME,
    version: COMPONENT_VERSION,
    summary: 'Demo pack tools: order receipts (state) and a secret check (secrets)',
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

function text(v: unknown, fallback: string): string {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : fallback;
}

function invoke(opName: string, envelope: InvocationEnvelope): InvocationResult {
  const payload = asObject(decodeCbor(envelope.payloadCbor));
  switch (opName) {
    case 'receipt': {
      const name = text(payload.name, 'friend');
      const drink = text(payload.drink, 'drink');
      let count = 0;
      try {
        const stored = decodeCbor(readState('orders', undefined));
        if (typeof stored === 'number') count = stored;
      } catch {
        // no order yet: the counter starts at 0 (`state.read.miss`)
      }
      count += 1;
      try {
        writeState('orders', encodeCanonicalCbor(count), undefined);
      } catch (e) {
        return reply({ ok: false, error: hostErrorCode(e) });
      }
      return reply({ ok: true, order: count, text: `Order #${count}: one ${drink} for ${name}.` });
    }
    case 'api_status':
      try {
        const value = getSecret('DEMO_API_KEY');
        const configured = value !== undefined && value.length > 0;
        return reply({ ok: true, configured, text: configured ? 'The demo API key is configured.' : 'The demo API key is not set.' });
      } catch (e) {
        return reply({ ok: false, configured: false, error: hostErrorCode(e), text: 'This component may not read the demo API key.' });
      }
    default:
      return reply({ ok: false, error: `unsupported op: ${opName}` });
  }
}

export const node = { describe, invoke };
