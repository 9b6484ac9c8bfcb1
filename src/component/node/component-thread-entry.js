// Worker-thread entry of the Node component host: its program is TypeScript, and tsx compiles it
// on the fly, the way bin/*.js start the CLI (no build step).
import { register } from 'tsx/esm/api';

register();
await import('./component-thread.ts');
