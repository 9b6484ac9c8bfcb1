declare module 'wasix:mcp/router@25.6.18' {
  export function name(): string;
  export function title(): string | undefined;
  export function instructions(): string;
  export function describeServer(): ServerDescription;
  export function listTools(): Array<Tool>;
  export function callTool(toolName: string, arguments: Json): Response;
  export function listResources(): Array<ResourceDescription>;
  export function readResource(uri: string): ReadResourceResult;
  export function listPrompts(): Array<Prompt>;
  export function getPrompt(name: string, arguments: Json | undefined): GetPromptResult;
  export function complete(request: CompletionRequest): CompletionResponse;
  /**
   * A JSON document as text.
   */
  export type Json = string;
  export interface MetaEntry {
    key: string,
    value: Json,
  }
  export interface ToolAnnotations {
    readOnly?: boolean,
    destructive?: boolean,
    streaming?: boolean,
    experimental?: boolean,
  }
  export interface Tool {
    name: string,
    title?: string,
    description: string,
    inputSchema: Json,
    outputSchema?: Json,
    annotations?: ToolAnnotations,
    meta?: Array<MetaEntry>,
  }
  /**
   * # Variants
   * 
   * ## `"user"`
   * 
   * ## `"assistant"`
   */
  export type Role = 'user' | 'assistant';
  export interface ContentAnnotations {
    audience?: Array<Role>,
    priority?: number,
    lastModified?: string,
  }
  export interface TextContent {
    text: string,
    annotations?: ContentAnnotations,
    meta?: Array<MetaEntry>,
  }
  /**
   * `data` is base64.
   */
  export interface ImageContent {
    data: string,
    mimeType: string,
    annotations?: ContentAnnotations,
    meta?: Array<MetaEntry>,
  }
  /**
   * `data` is base64.
   */
  export interface AudioContent {
    data: string,
    mimeType: string,
    annotations?: ContentAnnotations,
    meta?: Array<MetaEntry>,
  }
  export interface ResourceLink {
    uri: string,
    name: string,
    title?: string,
    description?: string,
    mimeType?: string,
    size?: bigint,
    annotations?: ContentAnnotations,
    meta?: Array<MetaEntry>,
  }
  export interface TextResourceContents {
    uri: string,
    mimeType?: string,
    text: string,
    meta?: Array<MetaEntry>,
  }
  /**
   * `blob` is base64.
   */
  export interface BlobResourceContents {
    uri: string,
    mimeType?: string,
    blob: string,
    meta?: Array<MetaEntry>,
  }
  export type ResourceContents = ResourceContentsText | ResourceContentsBlob;
  export interface ResourceContentsText {
    tag: 'text',
    val: TextResourceContents,
  }
  export interface ResourceContentsBlob {
    tag: 'blob',
    val: BlobResourceContents,
  }
  export interface EmbeddedResource {
    resource: ResourceContents,
    annotations?: ContentAnnotations,
    meta?: Array<MetaEntry>,
  }
  export type ContentBlock = ContentBlockText | ContentBlockImage | ContentBlockAudio | ContentBlockResourceLink | ContentBlockEmbeddedResource;
  export interface ContentBlockText {
    tag: 'text',
    val: TextContent,
  }
  export interface ContentBlockImage {
    tag: 'image',
    val: ImageContent,
  }
  export interface ContentBlockAudio {
    tag: 'audio',
    val: AudioContent,
  }
  export interface ContentBlockResourceLink {
    tag: 'resource-link',
    val: ResourceLink,
  }
  export interface ContentBlockEmbeddedResource {
    tag: 'embedded-resource',
    val: EmbeddedResource,
  }
  export interface ProgressNotification {
    progress: number,
    total?: number,
    message?: string,
  }
  export interface ToolResult {
    content: Array<ContentBlock>,
    structuredContent?: Json,
    progress?: Array<ProgressNotification>,
    meta?: Array<MetaEntry>,
    isError?: boolean,
  }
  /**
   * A request for more input from the user (MCP `elicitation/create`).
   */
  export interface ElicitationRequest {
    message: string,
    requestedSchema: Json,
    meta?: Array<MetaEntry>,
  }
  export type Response = ResponseCompleted | ResponseElicit;
  export interface ResponseCompleted {
    tag: 'completed',
    val: ToolResult,
  }
  export interface ResponseElicit {
    tag: 'elicit',
    val: ElicitationRequest,
  }
  export type ToolError = ToolErrorInvalidParameters | ToolErrorExecutionError | ToolErrorSchemaError | ToolErrorNotFound;
  export interface ToolErrorInvalidParameters {
    tag: 'invalid-parameters',
    val: string,
  }
  export interface ToolErrorExecutionError {
    tag: 'execution-error',
    val: string,
  }
  export interface ToolErrorSchemaError {
    tag: 'schema-error',
    val: string,
  }
  export interface ToolErrorNotFound {
    tag: 'not-found',
    val: string,
  }
  export interface ServerCapabilities {
    tools: boolean,
    resources: boolean,
    prompts: boolean,
    completions: boolean,
  }
  export interface ServerDescription {
    name: string,
    title?: string,
    version: string,
    instructions?: string,
    capabilities: ServerCapabilities,
  }
  export interface ResourceDescription {
    uri: string,
    name: string,
    title?: string,
    description?: string,
    mimeType?: string,
    size?: bigint,
    annotations?: ContentAnnotations,
    meta?: Array<MetaEntry>,
  }
  export interface ReadResourceResult {
    contents: Array<ResourceContents>,
    meta?: Array<MetaEntry>,
  }
  export type ResourceError = ResourceErrorNotFound | ResourceErrorInternal;
  export interface ResourceErrorNotFound {
    tag: 'not-found',
    val: string,
  }
  export interface ResourceErrorInternal {
    tag: 'internal',
    val: string,
  }
  export interface PromptArgument {
    name: string,
    title?: string,
    description?: string,
    required?: boolean,
  }
  export interface Prompt {
    name: string,
    title?: string,
    description?: string,
    arguments?: Array<PromptArgument>,
    meta?: Array<MetaEntry>,
  }
  export interface PromptMessage {
    role: Role,
    content: ContentBlock,
  }
  export interface GetPromptResult {
    description?: string,
    messages: Array<PromptMessage>,
    meta?: Array<MetaEntry>,
  }
  export type PromptError = PromptErrorNotFound | PromptErrorInvalidArguments | PromptErrorInternal;
  export interface PromptErrorNotFound {
    tag: 'not-found',
    val: string,
  }
  export interface PromptErrorInvalidArguments {
    tag: 'invalid-arguments',
    val: string,
  }
  export interface PromptErrorInternal {
    tag: 'internal',
    val: string,
  }
  export type CompletionReference = CompletionReferencePrompt | CompletionReferenceResource;
  export interface CompletionReferencePrompt {
    tag: 'prompt',
    val: string,
  }
  export interface CompletionReferenceResource {
    tag: 'resource',
    val: string,
  }
  export interface CompletionRequest {
    reference: CompletionReference,
    argumentName: string,
    argumentValue: string,
    context?: Json,
  }
  export interface CompletionResponse {
    values: Array<string>,
    total?: number,
    hasMore?: boolean,
  }
  export type CompletionError = CompletionErrorNotFound | CompletionErrorInvalidRequest | CompletionErrorInternal;
  export interface CompletionErrorNotFound {
    tag: 'not-found',
    val: string,
  }
  export interface CompletionErrorInvalidRequest {
    tag: 'invalid-request',
    val: string,
  }
  export interface CompletionErrorInternal {
    tag: 'internal',
    val: string,
  }
}
