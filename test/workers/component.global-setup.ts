/** Runs in Node before the workers pool: edge modules + component fixtures for the component tests. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TestProject } from 'vitest/node';
import { generateEdgeModules } from '../../src/component/build/generate-edge-modules.js';
import { buildFixtures } from '../support/wat-components.js';

declare module 'vitest' {
  export interface ProvidedContext {
    componentFixtures: { node: string; wasi: string; runtime: string; fs: string; legacy: string; http10: string; error?: string };
    /** The componentize-js `echo` fixture (test/fixtures/components/echo), ~12 MB. */
    componentizeEcho: string;
    /**
     * Where the componentize-js MCP router fixture (test/fixtures/components/mcp-router) is served
     * on 127.0.0.1 (the provided context travels in one message of bounded size, which the other
     * fixtures already nearly fill); '' when it did not build.
     */
    mcpRouterComponentUrl: string;
    /**
     * The demo pack's TypeScript component (packs/demo/components/demo-tools), built with
     * `buildComponent` (base64), or why it did not build; `ci` says a missing build must fail.
     */
    demoTools: { wasm: string; error?: string; ci: boolean };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await generateEdgeModules();
  // A fixture that fails to build fails the component tests (with this message), not the project.
  try {
    const f = await buildFixtures();
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
    project.provide('componentFixtures', {
      node: b64(f.node),
      wasi: b64(f.wasi),
      runtime: b64(f.runtime),
      fs: b64(f.fs),
      legacy: b64(f.legacy),
      http10: b64(f.http10),
    });
  } catch (err) {
    const empty = { node: '', wasi: '', runtime: '', fs: '', legacy: '', http10: '' };
    project.provide('componentFixtures', { ...empty, error: `WAT component fixtures did not build: ${(err as Error).message}` });
  }
  // componentize-js cannot load inside vite's module runner, so the fixture build runs in plain Node.
  // A broken or unbuildable fixture must not take the whole workers project down: the
  // componentize-js tests report it and are skipped.
  const script = pathToFileURL(fileURLToPath(new URL('../support/fixture-components.ts', import.meta.url))).href;
  const program = `const m = await import(${JSON.stringify(script)}); const r = await m.buildFixtureComponents({ only: ['echo', 'mcp-router'] }); process.stdout.write(JSON.stringify(r));`;
  let echo = '';
  let router = '';
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const built = JSON.parse(out.slice(out.indexOf('{'))) as Record<string, string>;
    if (built.echo) echo = readFileSync(built.echo).toString('base64');
    if (built['mcp-router']) router = built['mcp-router'];
  } catch (err) {
    console.warn(`[component tests] componentize-js echo fixture unavailable: ${(err as Error).message}`);
  }
  project.provide('componentizeEcho', echo);
  let routerServer: Server | undefined;
  if (router) {
    const bytes = readFileSync(router);
    routerServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/wasm' }).end(bytes));
    await new Promise<void>((ok) => routerServer!.listen(0, '127.0.0.1', ok));
    const address = routerServer.address();
    project.provide(
      'mcpRouterComponentUrl',
      typeof address === 'object' && address ? `http://127.0.0.1:${address.port}/mcp-router.wasm` : '',
    );
  } else {
    project.provide('mcpRouterComponentUrl', '');
  }

  // The demo component, the same way (cached by content hash under .cache/component-build/).
  const demoDir = fileURLToPath(new URL('../../packs/demo/components/demo-tools/', import.meta.url));
  const buildModule = pathToFileURL(fileURLToPath(new URL('../../src/component/build/component-build.ts', import.meta.url))).href;
  const demoProgram = `const m = await import(${JSON.stringify(buildModule)}); const r = await m.buildComponent({ dir: ${JSON.stringify(demoDir)}, onProgress: (l) => process.stderr.write('[demo-tools] ' + l + '\\n') }); process.stdout.write(JSON.stringify({ wasmPath: r.wasmPath }));`;
  const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', demoProgram], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const { wasmPath } = JSON.parse(out.slice(out.indexOf('{'))) as { wasmPath: string };
    project.provide('demoTools', { wasm: readFileSync(wasmPath).toString('base64'), ci });
  } catch (err) {
    console.warn(`[component tests] demo-tools component unavailable: ${(err as Error).message}`);
    project.provide('demoTools', { wasm: '', error: `packs/demo/components/demo-tools did not build: ${(err as Error).message}`, ci });
  }
  return async () => {
    await new Promise<void>((done) => (routerServer ? routerServer.close(() => done()) : done()));
  };
}
