// The `PackManifest` model as greentic-types declares it; `manifest-encode.ts` and
// `manifest-decode.ts` turn it into and out of `manifest.cbor`.
import type { Flow, FlowKind, JsonValue } from '../flow/model.js';

export type PackKind = 'application' | 'provider' | 'infrastructure' | 'library';
export const PACK_KINDS: readonly PackKind[] = ['application', 'provider', 'infrastructure', 'library'];

/**
 * JSON-typed values decoded from CBOR. Integral floats come back as `CborFloat` (a Number
 * subclass) so that a decode → encode round trip keeps them floats.
 */
export type ManifestJson = JsonValue;

export interface ComponentOperation {
  name: string;
  description?: string;
  input_schema: ManifestJson;
  output_schema: ManifestJson;
}

export interface ComponentManifest {
  id: string;
  version: string;
  supports: FlowKind[];
  world: string;
  profiles: { default?: string; supported: string[] };
  capabilities: ComponentCapabilities;
  configurators?: { basic?: string; full?: string } | null;
  operations: ComponentOperation[];
  config_schema?: ManifestJson | null;
  resources: { cpu_millis?: number; memory_mb?: number; average_latency_ms?: number };
  dev_flows?: Record<string, { format: string; graph: ManifestJson }>;
}

export interface SecretRequirement {
  key: string;
  required?: boolean;
  description?: string;
  scope?: { env: string; tenant: string; team?: string };
  format?: 'bytes' | 'text' | 'json';
  schema?: ManifestJson;
  examples?: string[];
}

export interface ComponentCapabilities {
  wasi: {
    filesystem?: { mode: 'none' | 'read_only' | 'sandbox'; mounts: Array<{ name: string; host_class: string; guest_path: string }> };
    env?: { allow: string[] };
    random: boolean;
    clocks: boolean;
  };
  host: {
    /** `writable`: keys a component may `put` (this runner's addition; see docs/compat.md). */
    secrets?: { required: SecretRequirement[]; writable?: string[] };
    state?: { read: boolean; write: boolean };
    messaging?: { inbound: boolean; outbound: boolean };
    events?: { inbound: boolean; outbound: boolean };
    http?: { client: boolean; server: boolean };
    telemetry?: { scope: 'tenant' | 'pack' | 'node' };
    iac?: { write_templates: boolean; execute_plans: boolean };
  };
}

export interface PackFlowEntry {
  id: string;
  kind: FlowKind;
  flow: Flow;
  tags: string[];
  entrypoints: string[];
}

export interface PackDependency {
  alias: string;
  pack_id: string;
  version_req: string;
  required_capabilities: string[];
}

export interface Signature {
  key_id: string;
  algorithm: 'ed25519' | { other: string };
  /** Standard base64 of the 64-byte Ed25519 signature. */
  signature: string;
}

export interface ExtensionRef {
  kind: string;
  version: string;
  digest?: string;
  location?: string;
  inline?: ManifestJson;
}

export interface PackManifest {
  schema_version: string;
  pack_id: string;
  name?: string;
  version: string;
  kind: PackKind;
  publisher: string;
  components: ComponentManifest[];
  flows: PackFlowEntry[];
  dependencies: PackDependency[];
  capabilities: Array<{ name: string; description?: string | null }>;
  secret_requirements?: SecretRequirement[];
  signatures: { signatures: Signature[] };
  bootstrap?: { install_flow?: string; upgrade_flow?: string; installer_component?: string };
  extensions?: Record<string, ExtensionRef>;
  agents?: Record<string, ManifestJson>;
}

/** The four bytewise-sorted string tables that ids become indexes into. */
export interface SymbolTables {
  component_ids: string[];
  node_ids: string[];
  capability_names: string[];
  pack_ids: string[];
}
