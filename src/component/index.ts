export { artifactPrefix, ensureComponentArtifacts, loadArtifacts, readDescriptor } from './artifact-store.js';
export { cpuMsOf, edgeComponentRunner, type PreparedComponent, transpilePackComponents } from './edge.js';
export { EdgeTranspiler } from './edge-transpiler.js';
export { ComponentHost, componentHostFactory, type HostProps, HostTarget, hostTargetFactory } from './host-entrypoint.js';
export * from './host-policy.js';
export { componentInvoker } from './invoker.js';
export {
  type ComponentCall,
  type ComponentOutcome,
  ComponentRunner,
  DEFAULT_COMPONENT_CPU_MS,
  type PackComponent,
  type PackDeployment,
} from './runner.js';
export { type ArtifactDescriptor, type BindgenGenerator, ComponentError, detectDialect, transpileComponent } from './transpile.js';
