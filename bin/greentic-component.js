#!/usr/bin/env node
// Launcher: the CLI is TypeScript; tsx compiles it on the fly so there is no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/greentic-component.ts');
process.exitCode = await main(process.argv.slice(2));
