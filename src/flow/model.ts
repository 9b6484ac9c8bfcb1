/**
 * The compiled flow model (greentic-types `Flow`, JSON Schema `greentic.flow.v1`), in its JSON
 * (serde snake_case) form. Field names and key order are the upstream contract: packs embed this
 * model, and the executor works on it only.
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Compiled `kind` strings (YAML `events` compiles to `event`, `component-config` to `component_config`). */
export type FlowKind = 'messaging' | 'event' | 'component_config' | 'job' | 'http';

/** Externally tagged, snake_case in JSON (PascalCase only inside manifest.cbor). */
export type Routing =
  | 'end'
  | 'reply'
  | { next: { node_id: string } }
  | { branch: { on_status: Record<string, string>; default: string | null } }
  | { custom: JsonValue };

export interface ComponentRef {
  id: string;
  pack_alias?: string | null;
  operation?: string | null;
}

export interface Telemetry {
  span_name?: string;
  attributes: Record<string, string>;
  sampling?: string;
}

export interface CompiledNode {
  id: string;
  component: ComponentRef;
  input: { mapping: JsonValue };
  output: { mapping: JsonValue };
  err_map?: { mapping: JsonValue } | null;
  routing: Routing;
  telemetry: Telemetry;
  /** Newer greentic-types: marks a `dw.agent` node as a multi-turn chat segment; present only when true. */
  conversational?: boolean;
}

export interface FlowMetadata {
  title?: string;
  description?: string;
  tags: string[];
  extra: JsonObject;
}

export interface Flow {
  schema_version: string;
  id: string;
  kind: FlowKind;
  entrypoints: Record<string, JsonValue>;
  /** Insertion order is significant: the first node is the implicit entry. */
  nodes: Record<string, CompiledNode>;
  metadata: FlowMetadata;
}
