export type { NodeKind } from './builtins.js';
export { classifyKey, nodeKey } from './builtins.js';
export type { CompileOptions, CompileResult } from './compile.js';
export { COMPILED_FLOW_SCHEMA_VERSION, compileFlow, SLOT_SCHEMA_METADATA_KEY } from './compile.js';
export { compileRouting } from './compile-routing.js';
export type { CompileSourceResult } from './compile-source.js';
export { compileFlowSource } from './compile-source.js';
export * from './condition.js';
export type { Diagnostic, FlowErrorCode, SourcePosition } from './errors.js';
export { dottedPath, formatDiagnostic, hasErrors, pointerOf } from './errors.js';
export type { ExecutionState, FlowSnapshot, NodeError, NodeOutput } from './execution-state.js';
export { FlowRunError, parseSnapshot } from './execution-state.js';
export type { ExecutorOptions, FlowRunResult, ResumeOptions, RetryPolicy, RunError, RunOptions } from './executor.js';
export { FlowExecutor, runFlow } from './executor.js';
export {
  COMPONENT_EXEC,
  isBuiltinComponentId,
  isBuiltinNode,
  isCompileBuiltinOp,
  isGreenticId,
  isNodeId,
  isOpKey,
  mapFlowType,
  nodeEffectiveComponentId,
  RESERVED_NODE_KEYS,
} from './identifiers.js';
export type { FlowDoc, LoadOptions, LoadResult, NodeDoc } from './loader.js';
export { flowDocToValue, loadFlow, validateFlowValue } from './loader.js';
export type * from './model.js';
export { assembleOutput, DEFAULT_FAILURE_TEXT } from './output.js';
export * from './path.js';
export type {
  Clock,
  ComponentInvoker,
  ComponentTarget,
  FlowResolver,
  InvocationContext,
  InvokeResult,
  NodeOutcome,
  NodeTrace,
  StateStore,
} from './ports.js';
export { MemoryStateStore } from './ports.js';
export type { ComponentSource, NodeResolveSummary, ResolveSidecar, ResolveSummary, SidecarResult } from './sidecar.js';
export { parseResolveSidecar, parseResolveSummary, resolveSidecarPath, resolveSummaryPath } from './sidecar.js';
export * from './template.js';
export { TemplateError, type TemplateErrorCode } from './template-error.js';
export { TEMPLATE_LIMITS } from './template-limits.js';
export { compileTemplate } from './template-parse.js';
export type { YamlLimits } from './yaml-source.js';
export { DEFAULT_YAML_LIMITS, parseYamlSource, SourceMap } from './yaml-source.js';
