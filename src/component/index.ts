export { ensureComponentArtifacts, loadArtifacts, readDescriptor, artifactPrefix } from './artifact-store.js';
export { EdgeTranspiler } from './edge-transpiler.js';
export { ComponentHost, componentHostFactory, HostTarget, hostTargetFactory, type HostProps } from './host-entrypoint.js';
export * from './host-policy.js';
export { componentInvoker } from './invoker.js';
export {
  ComponentRunner,
  DEFAULT_COMPONENT_CPU_MS,
  type ComponentCall,
  type ComponentOutcome,
  type PackComponent,
  type PackDeployment,
} from './runner.js';
export { ComponentError, detectDialect, transpileComponent, type ArtifactDescriptor, type BindgenGenerator } from './transpile.js';
export { cpuMsOf, edgeComponentRunner, transpilePackComponents, type PreparedComponent } from './edge.js';
