declare module 'greentic:component/node@0.6.0' {
  export function describe(): ComponentDescriptor;
  export function invoke(op: string, envelope: InvocationEnvelope): InvocationResult;
  export type CapabilityId = import('greentic:types-core/core@0.6.0').CapabilityId;
  export type ComponentId = import('greentic:types-core/core@0.6.0').ComponentId;
  export type FlowId = import('greentic:types-core/core@0.6.0').FlowId;
  export type NodeError = import('greentic:types-core/core@0.6.0').NodeError;
  export type StepId = import('greentic:types-core/core@0.6.0').StepId;
  export type TenantCtx = import('greentic:types-core/core@0.6.0').TenantCtx;
  export interface InvocationEnvelope {
    ctx: TenantCtx,
    flowId: FlowId,
    stepId: StepId,
    componentId: ComponentId,
    attempt: number,
    payloadCbor: Uint8Array,
    metadataCbor?: Uint8Array,
  }
  export interface InvocationResult {
    ok: boolean,
    outputCbor: Uint8Array,
    outputMetadataCbor?: Uint8Array,
  }
  export type SchemaSource = SchemaSourceCborSchemaId | SchemaSourceInlineCbor | SchemaSourceRefPackPath | SchemaSourceRefUri;
  export interface SchemaSourceCborSchemaId {
    tag: 'cbor-schema-id',
    val: string,
  }
  export interface SchemaSourceInlineCbor {
    tag: 'inline-cbor',
    val: Uint8Array,
  }
  export interface SchemaSourceRefPackPath {
    tag: 'ref-pack-path',
    val: string,
  }
  export interface SchemaSourceRefUri {
    tag: 'ref-uri',
    val: string,
  }
  export interface IoSchema {
    schema: SchemaSource,
    contentType: string,
    schemaVersion?: string,
  }
  export interface Example {
    title: string,
    inputCbor: Uint8Array,
    outputCbor: Uint8Array,
  }
  export interface SchemaRef {
    id: string,
    contentType: string,
    blake3Hash: string,
    version: string,
    bytes?: Uint8Array,
    uri?: string,
  }
  export interface SetupExample {
    title: string,
    answersCbor: Uint8Array,
  }
  export interface SetupTemplateScaffold {
    templateRef: string,
    outputLayout?: string,
  }
  export type SetupOutput = SetupOutputConfigOnly | SetupOutputTemplateScaffold;
  export interface SetupOutputConfigOnly {
    tag: 'config-only',
  }
  export interface SetupOutputTemplateScaffold {
    tag: 'template-scaffold',
    val: SetupTemplateScaffold,
  }
  export interface SetupContract {
    qaSpec: SchemaSource,
    answersSchema: SchemaSource,
    examples: Array<SetupExample>,
    outputs: Array<SetupOutput>,
  }
  export interface Op {
    name: string,
    summary?: string,
    input: IoSchema,
    output: IoSchema,
    examples: Array<Example>,
  }
  export interface ComponentDescriptor {
    name: string,
    version: string,
    summary?: string,
    capabilities: Array<CapabilityId>,
    ops: Array<Op>,
    schemas: Array<SchemaRef>,
    setup?: SetupContract,
  }
}
