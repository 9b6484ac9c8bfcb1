/**
 * `greentic-component` CLI: scaffold a TypeScript component, build it with componentize-js,
 * and describe / invoke / transpile any Greentic component (Rust-built ones included) in Node.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { buildComponent } from '../component/build/component-build.js';
import { ComponentBuildError } from '../component/build/component-build-error.js';
import { hostGuestTypes } from '../component/build/guest-types.js';
import { HOST_WIT_DIR, readWitPackages } from '../component/build/wit-source.js';
import { type DescribedComponent, type ManifestFacts, synthesizedDescriptor } from '../component/node/described-component.js';
import { directoryStore, grantsFromManifest, localGrants, memoryStore } from '../component/node/local-stores.js';
import { nodeBindgenGenerator } from '../component/node/node-bindgen.js';
import {
  findManifestFor,
  type InvokeOutcome,
  loadComponentInNode,
  type NodeHostOptions,
  readWasmFile,
} from '../component/node/node-host.js';
import { NodeHostError } from '../component/node/node-host-error.js';
import { checkComponentHeader } from '../component/node/transpile-cache.js';
import { type ComponentArtifacts, ComponentError as EdgeComponentError, transpileComponent } from '../component/upload/transpile.js';
import { CodedError, errorMessage } from '../core/coded-error.js';
import { isObject } from '../core/is-object.js';
import { decodeCbor } from '../pack/cbor.js';
import { blake3Hex } from '../pack/digest.js';
import { componentManifestFromValue } from '../pack/manifest-decode.js';
import { UsageError } from './usage-error.js';

const TEMPLATES: Record<string, string> = {
  node: fileURLToPath(new URL('../component/template/', import.meta.url)),
  'mcp-router': fileURLToPath(new URL('../component/template-mcp-router/', import.meta.url)),
};
const CODEC_SOURCE = fileURLToPath(new URL('../pack/cbor.ts', import.meta.url));

const TOOL_HELP = `greentic-component — author, build and run Greentic Wasm components

Usage:
  greentic-component new <name> [--dir D] [--id ID] [--template node|mcp-router]
  greentic-component build [--dir D] [--json]
  greentic-component describe <wasm> [--json]
  greentic-component invoke <wasm> <op> --input <json> [--state D] [--secrets F] [--manifest F] [--json]
  greentic-component transpile <wasm> --out D [--json]

Run "greentic-component <verb> --help" for the options of a verb.
Exit codes: 0 ok, 1 invalid input or failed operation, 2 usage error.
`;

const NEW_HELP = `greentic-component new <name> [--dir D] [--id ID] [--template node|mcp-router]

Writes a TypeScript component targeting greentic:component@0.6.0 (node world), or with
--template mcp-router an MCP server exporting wasix:mcp/router@25.6.18: src/index.ts,
component.manifest.json, wit/ (its world plus copies of the WIT packages), types/ and a README.
<name> must be a WIT identifier (lowercase words joined by "-", e.g. "my-echo").

Options:
  --dir D        where to write it (default ./<name>); must be absent or empty
  --id ID        manifest id (default com.example.<name>)
  --template T   node (default) or mcp-router
  --json    print {dir, files} on stdout
  -h, --help
`;

const BUILD_HELP = `greentic-component build [--dir D] [--keep-manifest] [--json]

Bundles src/index.ts with esbuild and compiles it with componentize-js for the world in wit/.
Output goes to the manifest's artifacts.component_wasm (default dist/<name>.wasm); the manifest's
hashes.component_wasm is updated (BLAKE3). Unchanged sources are served from the build cache
(.cache/component-build/, keyed by a hash of the bundled sources, WIT and tool versions).

Options:
  --dir D           component directory (default .)
  --keep-manifest   leave component.manifest.json as it is (no hashes.component_wasm update): for
                    manifests kept in version control, since componentize-js output varies by build
  --json            print {wasm, sha256, blake3, size, cached, world}
  -h, --help
`;

const DESCRIBE_HELP = `greentic-component describe <wasm> [--json]

Instantiates the component in Node and prints its describe(): name, version, capabilities and
operations (schemas decoded from CBOR). A node@0.6.0 component that exports invoke only (upstream
never calls describe) is described from its component manifest when one is beside it
(<name>.manifest.cbor as packs carry it, or component.manifest.json); "source" says which.

Options:
  --json   print the descriptor as JSON
  -h, --help
`;

const INVOKE_HELP = `greentic-component invoke <wasm> <op> --input <json> [options]

Calls invoke(op, envelope) with the input encoded as canonical CBOR (non-objects are wrapped as
{"input": v}; "operation" is added when absent) and prints the decoded output.
Host imports follow the edge's rules (src/component/host-policy.ts): state in --state (or in
memory), secrets from --secrets, gated by the component's manifest (found beside the .wasm or one
folder up, or given with --manifest). A secret the manifest does not declare is "denied"; a
declared one missing from --secrets reads as none. Without a manifest, exactly the secrets in
--secrets are granted. Outbound HTTP is denied (no tenant allow-list in local runs).

Options:
  --input J       JSON input, or @file to read it from a file (default {})
  --state D       folder holding state between invocations
  --secrets F     JSON file {"KEY": "value", ...}
  --manifest F    component.manifest.json to take grants from
  --json          print {ok, result_ok, output, metadata} or {ok: false, error}
  -h, --help
Exit code 1 when the component returns node-error or traps.
`;

const TRANSPILE_HELP = `greentic-component transpile <wasm> --out D [--json]

Runs the edge's transpile pipeline (jco bindgen with async instantiation and JSPI host imports,
ABI dialect detection, fuel-metered core modules) and writes the artifact set to D:
component.js, component.core*.wasm and descriptor.json.

Options:
  --out D   output folder (required)
  --json    print {out, files: [{name, size}]}
  -h, --help
`;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** A failure the user can act on: `code: message`, exit 1. */
class CliError extends CodedError {
  constructor(code: string, message: string) {
    super(code, `${code}: ${message}`);
  }
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError(errorMessage(e));
  }
}

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [verb, ...rest] = argv;
  const verbs: Record<string, [string, (args: string[], io: Io) => Promise<number>]> = {
    new: [NEW_HELP, newCommand],
    build: [BUILD_HELP, buildCommand],
    describe: [DESCRIBE_HELP, describeCommand],
    invoke: [INVOKE_HELP, invokeCommand],
    transpile: [TRANSPILE_HELP, transpileCommand],
  };
  if (verb === undefined || verb === '-h' || verb === '--help' || verb === 'help') {
    (verb === undefined ? io.err : io.out)(TOOL_HELP);
    return verb === undefined ? 2 : 0;
  }
  const entry = verbs[verb];
  if (!entry) {
    io.err(`unknown verb "${verb}"\n\n${TOOL_HELP}`);
    return 2;
  }
  const [help, run] = entry;
  if (rest.includes('-h') || rest.includes('--help')) {
    io.out(help);
    return 0;
  }
  try {
    return await run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\n\n${help}`);
      return 2;
    }
    if (e instanceof CliError || e instanceof NodeHostError || e instanceof ComponentBuildError) {
      io.err(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// new

const WIT_IDENTIFIER = /^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*$/;

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push(relative(base, p));
  }
  return out.sort();
}

async function newCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    dir: { type: 'string' },
    id: { type: 'string' },
    template: { type: 'string' },
    json: { type: 'boolean' },
  });
  const [name, extra] = positionals;
  if (!name || extra !== undefined) throw new UsageError('expected exactly one <name>');
  const templateDir = TEMPLATES[values.template ?? 'node'];
  if (templateDir === undefined) throw new UsageError(`--template must be one of ${Object.keys(TEMPLATES).join(', ')}`);
  if (!WIT_IDENTIFIER.test(name)) {
    throw new CliError(
      'InvalidName',
      `"${name}" is not a WIT identifier: use lowercase words of letters and digits joined by "-", each starting with a letter (e.g. "my-echo")`,
    );
  }
  const dir = resolve(values.dir ?? name);
  if (existsSync(dir) && (await readdir(dir)).length > 0) {
    throw new CliError('TargetNotEmpty', `${dir} already exists and is not empty`);
  }
  const id = values.id ?? `com.example.${name}`;
  const fill = (text: string) => text.replaceAll('{{name}}', name).replaceAll('{{id}}', id);

  const written: string[] = [];
  const put = async (rel: string, text: string) => {
    const p = join(dir, rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, text);
    written.push(rel);
  };
  for (const rel of await listFiles(templateDir)) {
    if (rel.startsWith('types/')) continue; // regenerated below from the current WIT
    // The template's cbor.ts re-exports the project codec; a scaffold gets its own copy of it.
    const text =
      rel === join('src', 'cbor.ts') ? await readFile(CODEC_SOURCE, 'utf8') : fill(await readFile(join(templateDir, rel), 'utf8'));
    await put(rel, text);
  }
  for (const pkg of await readWitPackages(HOST_WIT_DIR)) {
    const folder = basename(pkg.source); // e.g. component@0.6.0, wasix-mcp@25.6.18
    await mkdir(join(dir, 'wit', 'deps', folder), { recursive: true });
    await copyFile(join(pkg.source, 'package.wit'), join(dir, 'wit', 'deps', folder, 'package.wit'));
    written.push(join('wit', 'deps', folder, 'package.wit'));
  }
  for (const [rel, text] of Object.entries(await hostGuestTypes())) await put(join('types', rel), text);
  await put('.gitignore', 'dist/\n.state/\nsecrets.json\n');

  if (values.json) io.out(`${JSON.stringify({ dir, files: written.sort() }, null, 2)}\n`);
  else
    io.out(
      `created ${name} in ${dir} (${written.length} files)\nnext: npx greentic-component build --dir ${relative(process.cwd(), dir) || '.'}\n`,
    );
  return 0;
}

// ---------------------------------------------------------------------------------------------
// build

interface ManifestJson {
  artifacts?: { component_wasm?: unknown };
  hashes?: { component_wasm?: unknown };
  [k: string]: unknown;
}

async function readJsonFile(path: string, code: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CliError(code, `${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(e)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CliError(code, `${path}: invalid JSON: ${errorMessage(e)}`);
  }
}

async function buildCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { dir: { type: 'string' }, json: { type: 'boolean' }, 'keep-manifest': { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const dir = resolve(values.dir ?? '.');
  const manifestPath = join(dir, 'component.manifest.json');
  const manifest = existsSync(manifestPath) ? ((await readJsonFile(manifestPath, 'ManifestInvalid')) as ManifestJson) : undefined;

  const result = await buildComponent({ dir, onProgress: (line) => io.err(`${line}\n`) });
  const declared = manifest?.artifacts?.component_wasm;
  const outRel = typeof declared === 'string' && declared !== '' ? declared : join('dist', `${result.name}.wasm`);
  const outPath = resolve(dir, outRel);
  await mkdir(dirname(outPath), { recursive: true });
  await copyFile(result.wasmPath, outPath);
  const bytes = new Uint8Array(await readFile(outPath));
  const blake3 = `blake3:${blake3Hex(bytes)}`;

  if (manifest && !values['keep-manifest'] && manifest.hashes?.component_wasm !== blake3) {
    // As upstream's build does: the manifest records the hash of the artifact it describes.
    manifest.hashes = { ...(manifest.hashes ?? {}), component_wasm: blake3 };
    if (typeof declared !== 'string') manifest.artifacts = { ...(manifest.artifacts ?? {}), component_wasm: outRel };
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  }

  const summary = { wasm: outPath, sha256: result.sha256, blake3, size: result.size, cached: result.cached, world: result.world };
  if (values.json) io.out(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    io.out(
      `${relative(process.cwd(), outPath) || outPath}\n  sha256 ${result.sha256}\n  size   ${result.size} bytes\n  ${result.cached ? 'from cache' : `built in ${(result.durationMs / 1000).toFixed(1)} s`}\n`,
    );
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// describe / invoke

async function hostOptionsFor(wasmPath: string, opts: { state?: string; secrets?: string; manifest?: string }): Promise<NodeHostOptions> {
  let secrets: Record<string, string> = {};
  if (opts.secrets) {
    const parsed = await readJsonFile(resolve(opts.secrets), 'SecretsInvalid');
    if (!isObject(parsed)) {
      throw new CliError('SecretsInvalid', `${opts.secrets}: expected a JSON object of "KEY": "value"`);
    }
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string') throw new CliError('SecretsInvalid', `${opts.secrets}: /${k} must be a string`);
    }
    secrets = parsed as Record<string, string>;
  }
  const manifestPath = opts.manifest ? resolve(opts.manifest) : findManifestFor(resolve(wasmPath));
  // Without a manifest, the secrets handed to this run are the ones granted.
  const grants = manifestPath
    ? grantsFromManifest(await readJsonFile(manifestPath, 'ManifestInvalid'), manifestPath)
    : localGrants(Object.keys(secrets));
  return { grants, secrets, state: opts.state ? directoryStore(resolve(opts.state)) : memoryStore() };
}

function formatDescriptor(d: DescribedComponent): string {
  const lines = [`${d.name} ${d.version}  (${d.abi})`];
  if (d.summary) lines.push(`  ${d.summary}`);
  lines.push(`capabilities: ${d.capabilities.length > 0 ? d.capabilities.join(', ') : '(none)'}`);
  lines.push(`operations (${d.ops.length}):`);
  const width = Math.max(0, ...d.ops.map((o) => o.name.length));
  for (const o of d.ops) lines.push(`  ${o.name.padEnd(width)}  ${o.summary ?? ''}`.trimEnd());
  if (d.setup !== undefined) lines.push('setup: yes');
  return `${lines.join('\n')}\n`;
}

/** The component manifest beside a wasm: `<name>.manifest.cbor` (pack layout), else `component.manifest.json`. */
async function manifestBeside(wasmPath: string): Promise<ManifestFacts | undefined> {
  const cborPath = wasmPath.replace(/\.wasm$/, '.manifest.cbor');
  if (cborPath !== wasmPath && existsSync(cborPath)) {
    try {
      return componentManifestFromValue(decodeCbor(new Uint8Array(await readFile(cborPath)), { preserveFloats: true }), cborPath);
    } catch (e) {
      throw new CliError('ManifestInvalid', `${cborPath}: ${errorMessage(e)}`);
    }
  }
  const jsonPath = findManifestFor(wasmPath);
  if (jsonPath === undefined) return undefined;
  const json = await readJsonFile(jsonPath, 'ManifestInvalid');
  if (!isObject(json) || typeof json.id !== 'string')
    throw new CliError('ManifestInvalid', `${jsonPath}: a component manifest needs an "id"`);
  return { ...(json as object), id: json.id, version: typeof json.version === 'string' ? json.version : '' } as ManifestFacts;
}

async function describeCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  const [wasmPath, extra] = positionals;
  if (!wasmPath || extra !== undefined) throw new UsageError('expected exactly one <wasm>');
  const component = await loadComponentInNode(await readWasmFile(wasmPath), wasmPath, { log: (line) => io.err(`${line}\n`) });
  let d: DescribedComponent | undefined;
  try {
    d = await component.describe();
  } finally {
    await component.close();
  }
  d ??= synthesizedDescriptor(basename(wasmPath).replace(/\.wasm$/, ''), await manifestBeside(resolve(wasmPath)));
  io.out(values.json ? `${JSON.stringify(d, null, 2)}\n` : formatDescriptor(d));
  return 0;
}

async function invokeCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    input: { type: 'string' },
    state: { type: 'string' },
    secrets: { type: 'string' },
    manifest: { type: 'string' },
    json: { type: 'boolean' },
  });
  const [wasmPath, op, extra] = positionals;
  if (!wasmPath || !op || extra !== undefined) throw new UsageError('expected <wasm> <op>');
  const inputText =
    values.input === undefined ? '{}' : values.input.startsWith('@') ? await readFile(values.input.slice(1), 'utf8') : values.input;
  let input: unknown;
  try {
    input = JSON.parse(inputText) as unknown;
  } catch (e) {
    throw new CliError('InputInvalid', `--input is not JSON: ${errorMessage(e)}`);
  }
  const host = await hostOptionsFor(wasmPath, values);
  const component = await loadComponentInNode(await readWasmFile(wasmPath), wasmPath, { ...host, log: (line) => io.err(`${line}\n`) });
  let outcome: InvokeOutcome;
  try {
    outcome = await component.invoke(op, input);
  } finally {
    await component.close();
  }
  if (!outcome.ok) {
    if (values.json) io.out(`${JSON.stringify({ ok: false, error: outcome.error }, null, 2)}\n`);
    io.err(`node-error ${outcome.error.code}: ${outcome.error.message}${outcome.error.retryable ? ' (retryable)' : ''}\n`);
    return 1;
  }
  if (values.json) {
    io.out(
      `${JSON.stringify({ ok: true, result_ok: outcome.resultOk, output: outcome.output, ...(outcome.metadata !== undefined ? { metadata: outcome.metadata } : {}) }, null, 2)}\n`,
    );
  } else {
    io.out(`${JSON.stringify(outcome.output, null, 2)}\n`);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// transpile

async function transpileCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { out: { type: 'string' }, json: { type: 'boolean' } });
  const [wasmPath, extra] = positionals;
  if (!wasmPath || extra !== undefined) throw new UsageError('expected exactly one <wasm>');
  if (!values.out) throw new UsageError('--out is required');
  const wasm = await readWasmFile(wasmPath);
  checkComponentHeader(wasm, wasmPath);
  // The edge's own pipeline (bindgen options, dialect detection, fuel metering), run in Node.
  let artifacts: ComponentArtifacts;
  try {
    artifacts = await transpileComponent(wasm, nodeBindgenGenerator);
  } catch (e) {
    if (e instanceof EdgeComponentError) throw new CliError(e.code, `${wasmPath}: ${e.message}`);
    throw e;
  }
  const files: Record<string, Uint8Array> = {
    ...artifacts.files,
    'descriptor.json': new TextEncoder().encode(`${JSON.stringify(artifacts.descriptor, null, 2)}\n`),
  };
  const out = resolve(values.out);
  const listing: { name: string; size: number }[] = [];
  for (const [name, bytes] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    const p = join(out, name);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, bytes);
    listing.push({ name, size: bytes.length });
  }
  if (values.json)
    io.out(
      `${JSON.stringify({ out, sha256: artifacts.descriptor.sha256, dialect: artifacts.descriptor.dialect, files: listing }, null, 2)}\n`,
    );
  else
    io.out(
      `${listing.map((f) => `${f.name}  ${f.size} bytes`).join('\n')}\n${artifacts.descriptor.dialect} component ${artifacts.descriptor.sha256} written to ${out}\n`,
    );
  return 0;
}
