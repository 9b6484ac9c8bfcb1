// Written by `greentic-component new`; keep in step with component.manifest.json.
export const COMPONENT_NAME = 'demo-tools';
export const COMPONENT_VERSION = '0.1.0';
