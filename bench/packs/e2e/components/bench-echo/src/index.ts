// The benchmark's component (greentic:component@0.6.0): `echo` answers with the text it was
// given, so a turn that calls it pays for the component call and nothing the component does.
import type { ComponentDescriptor, InvocationEnvelope, InvocationResult, Op } from 'greentic:component/node@0.6.0';
import { decodeCbor, encodeCanonicalCbor } from './cbor.js';

const ANY_OBJECT = encodeCanonicalCbor({ type: 'object', properties: {}, required: [], additional: { type: 'allow' } });
const SCHEMA = { schema: { tag: 'inline-cbor', val: ANY_OBJECT } as const, contentType: 'application/cbor', schemaVersion: undefined };
const ECHO: Op = { name: 'echo', summary: 'Answers with the text it was given', input: SCHEMA, output: SCHEMA, examples: [] };

function describe(): ComponentDescriptor {
  return {
    name: 'bench-echo',
    version: '0.1.0',
    summary: 'End-to-end benchmark component',
    capabilities: [],
    ops: [ECHO],
    schemas: [],
    setup: undefined,
  };
}

function invoke(opName: string, envelope: InvocationEnvelope): InvocationResult {
  const payload = decodeCbor(envelope.payloadCbor);
  const text =
    payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as { text?: unknown }).text : undefined;
  const output =
    opName === 'echo'
      ? { ok: true, text: `component: ${typeof text === 'string' ? text : ''}` }
      : { ok: false, error: `unsupported op: ${opName}` };
  return { ok: true, outputCbor: encodeCanonicalCbor(output), outputMetadataCbor: undefined };
}

export const node = { describe, invoke };
