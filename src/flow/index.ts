export type { Diagnostic, FlowErrorCode, SourcePosition } from './errors.js';
export { formatDiagnostic, hasErrors, dottedPath, pointerOf } from './errors.js';
export type { FlowDoc, NodeDoc, LoadOptions, LoadResult } from './loader.js';
export { loadFlow, validateFlowValue, flowDocToValue } from './loader.js';
export type { CompileOptions, CompileResult } from './compile.js';
export { compileFlow, compileRouting, mapFlowType, SLOT_SCHEMA_METADATA_KEY, COMPILED_FLOW_SCHEMA_VERSION } from './compile.js';
export type { CompileSourceResult } from './compile-source.js';
export { compileFlowSource } from './compile-source.js';
export type { ResolveSidecar, ResolveSummary, NodeResolveSummary, ComponentSource, SidecarResult } from './sidecar.js';
export { parseResolveSidecar, parseResolveSummary, resolveSidecarPath, resolveSummaryPath } from './sidecar.js';
export {
  isBuiltinComponentId,
  isBuiltinNode,
  nodeEffectiveComponentId,
  isCompileBuiltinOp,
  isGreenticId,
  isNodeId,
  isOpKey,
  RESERVED_NODE_KEYS,
  COMPONENT_EXEC,
} from './identifiers.js';
export type { YamlLimits } from './yaml-source.js';
export { parseYamlSource, DEFAULT_YAML_LIMITS, SourceMap } from './yaml-source.js';
export type * from './model.js';
export type { ExecutionState, FlowSnapshot, NodeError, NodeOutput } from './execution-state.js';
export { FlowRunError, parseSnapshot } from './execution-state.js';
export type {
  Clock,
  ComponentInvoker,
  ComponentTarget,
  ExecutorOptions,
  FlowResolver,
  FlowRunResult,
  InvocationContext,
  InvokeResult,
  NodeOutcome,
  NodeTrace,
  ResumeOptions,
  RetryPolicy,
  RunError,
  RunOptions,
  StateStore,
} from './executor.js';
export { FlowExecutor, MemoryStateStore, runFlow } from './executor.js';
export { assembleOutput, DEFAULT_FAILURE_TEXT } from './output.js';
export type { NodeKind } from './builtins.js';
export { classifyKey, nodeKey } from './builtins.js';
export * from './path.js';
export * from './template.js';
export * from './condition.js';
