/**
 * `greentic-pack` CLI: scaffold, build, inspect, sign and verify `.gtpack` archives. All format
 * work happens in src/pack (the same code the admin API runs at the edge); this file only reads
 * and writes files.
 */
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { errorMessage } from '../core/coded-error.js';
import {
  buildPack,
  generateKeyPair,
  keyId,
  openPack,
  PackError,
  type PackReport,
  parsePrivateKeyPem,
  parsePublicKey,
  parseTrustedKeys,
  privateKeyToPem,
  publicKeyToPem,
  sha256Hex,
  signPackArchive,
  type TrustPolicy,
  verifyPack,
} from '../pack/index.js';
import { cmdPublish, readPackTree } from './greentic-pack-publish.js';
import { UsageError } from './usage-error.js';

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
}

const defaultIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
};

const TOOL_HELP = `greentic-pack — build, inspect, sign and verify Greentic .gtpack archives

Usage:
  greentic-pack new <PACK_ID> --dir DIR
  greentic-pack build --in DIR [--gtpack-out FILE] [--dev] [--json]
  greentic-pack inspect <FILE.gtpack> [--json]
  greentic-pack keygen --out DIR
  greentic-pack sign --pack FILE --key PRIVATE.pem [--key-id ID]
  greentic-pack verify --pack FILE [--key PUBLIC.pem]... [--policy strict|dev] [--json]
  greentic-pack publish --bundle FILE --url URL --token TOKEN [--key PRIVATE.pem] [--secrets FILE.json] [--json]

Run "greentic-pack <verb> --help" for the options of a verb.
Exit codes: 0 ok, 1 invalid input or failed operation, 2 usage error.
`;

const HELP: Record<string, string> = {
  new: `greentic-pack new <PACK_ID> --dir DIR

Scaffolds a pack source: DIR/pack.yaml, DIR/flows/main.ygtc and an empty DIR/components/.
`,
  build: `greentic-pack build --in DIR [--gtpack-out FILE] [--dev] [--json]

Compiles the flows, reads component manifests and assets and writes a deterministic .gtpack
(same input, same bytes). Also writes DIR/dist/manifest.cbor as packc does.

Options:
  --in DIR            pack source directory (pack.yaml at its root)
  --gtpack-out FILE   output archive (default DIR/dist/<dirname>.gtpack)
  --dev               dev pack mode; include flow sources and reserved files
  --json              print {out, sha256, size, entries, warnings} on stdout
Progress goes to stderr.
`,
  inspect: `greentic-pack inspect <FILE.gtpack> [--json]

Opens the archive, checks the SBOM and component pins and prints what it holds. Signatures are
listed but not checked (use verify). --json prints the verification report.
`,
  keygen: `greentic-pack keygen --out DIR

Writes an Ed25519 key pair: DIR/pack.key.pem (PKCS#8, mode 0600) and DIR/pack.pub.pem (SPKI).
`,
  sign: `greentic-pack sign --pack FILE --key PRIVATE.pem [--key-id ID]

Appends an Ed25519 signature to the archived manifest.cbor and rewrites the archive (manifest and
regenerated SBOM), so the signed .gtpack is self-contained. FILE may be a pack source directory,
meaning DIR/dist/<dirname>.gtpack. The key id defaults to the key's derived id (32 hex chars).
`,
  verify: `greentic-pack verify --pack FILE [--key PUBLIC.pem]... [--policy strict|dev] [--json]

Verifies ZIP guards, SBOM BLAKE3 hashes, component manifest pins and signatures.
  --key FILE      trusted SPKI PEM public key (repeatable; default: $PACK_TRUSTED_KEYS)
  --policy P      strict (default): a valid trusted signature and a clean SBOM are required;
                  dev: problems are warnings
  --json          print the verification report on stdout
Exit code 1 when the pack is rejected under the policy.
`,
};

function help(io: Io, text: string): number {
  io.out(text);
  return 0;
}

function parse(
  args: string[],
  options: ParseArgsOptionsConfig,
): ReturnType<typeof parseArgs<{ options: ParseArgsOptionsConfig; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(errorMessage(e));
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

async function archivePath(p: string): Promise<string> {
  const s = await stat(p).catch(() => undefined);
  if (s?.isDirectory()) return join(p, 'dist', `${basename(resolve(p))}.gtpack`);
  return p;
}

async function cmdNew(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { dir: { type: 'string' } });
  if (values.help) return help(io, HELP.new!);
  const id = positionals[0];
  const dir = str(values.dir);
  if (id === undefined || dir === undefined) throw new UsageError('new needs <PACK_ID> and --dir DIR');
  if (!/^[A-Za-z0-9._-]+$/.test(id)) {
    io.err(`error: pack id "${id}" may only contain ASCII letters, digits, ".", "_" and "-"\n`);
    return 1;
  }
  if (await stat(join(dir, 'pack.yaml')).catch(() => undefined)) {
    io.err(`error: ${join(dir, 'pack.yaml')} already exists\n`);
    return 1;
  }
  await mkdir(join(dir, 'flows'), { recursive: true });
  await mkdir(join(dir, 'components'), { recursive: true });
  await writeFile(
    join(dir, 'pack.yaml'),
    `pack_id: ${id}\nversion: 0.1.0\nkind: application\npublisher: Greentic\ncomponents: []\nflows:\n  - id: main\n    file: flows/main.ygtc\n    tags: [default]\n    entrypoints: [default]\ndependencies: []\nassets: []\n`,
  );
  await writeFile(
    join(dir, 'flows', 'main.ygtc'),
    `id: main\ntype: messaging\nstart: hello\nnodes:\n  hello:\n    emit.response:\n      messages:\n        - { type: text, text: "Hello from ${id}" }\n    routing: out\n`,
  );
  io.err(`created ${id} in ${dir}\n`);
  return 0;
}

async function cmdBuild(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, {
    in: { type: 'string' },
    'gtpack-out': { type: 'string' },
    dev: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) return help(io, HELP.build!);
  const dir = str(values.in);
  if (dir === undefined) throw new UsageError('build needs --in DIR');
  const out = str(values['gtpack-out']) ?? join(dir, 'dist', `${basename(resolve(dir))}.gtpack`);
  const files = await readPackTree(dir);
  const result = buildPack(files, { dev: values.dev === true, onProgress: (line) => io.err(`${line}\n`) });
  for (const w of result.warnings) io.err(`warning: ${w}\n`);
  await mkdir(join(dir, 'dist'), { recursive: true });
  await writeFile(join(dir, 'dist', 'manifest.cbor'), openPack(result.bytes).manifestBytes);
  await mkdir(resolve(out, '..'), { recursive: true });
  await writeFile(out, result.bytes);
  const sha = sha256Hex(result.bytes);
  if (values.json)
    io.out(
      `${JSON.stringify({ out, sha256: sha, size: result.bytes.length, entries: result.entries, warnings: result.warnings }, null, 2)}\n`,
    );
  else io.err(`built ${out} (${result.bytes.length} bytes, sha256:${sha})\n`);
  return 0;
}

function humanReport(r: PackReport, withVerdict: boolean): string {
  const lines = [
    `pack      ${r.pack_id}@${r.version} (${r.kind}, ${r.format})${r.name ? ` "${r.name}"` : ''}`,
    `publisher ${r.publisher}`,
    `digest    ${r.digest} (${r.size} bytes, ${r.entries} entries, ${r.assets} assets)`,
    `flows     ${r.flows.length}`,
    ...r.flows.map((f) => `  ${f.id} [${f.kind}] entrypoints: ${f.entrypoints.join(', ') || '-'}; ${f.nodes} nodes`),
    `components ${r.components.length}`,
    ...r.components.map((c) => `  ${c.id}@${c.version} ${c.world} ${c.path} ${c.size ?? 'missing'} bytes sha256:${c.sha256 ?? '-'}`),
    `sbom      ${r.sbom.status}${r.sbom.source ? ` (${r.sbom.source}, ${r.sbom.files} files)` : ''}`,
    ...r.sbom.problems.map((p) => `  ${p.code} ${p.path}: ${p.message}`),
    `signatures ${r.signatures.length}`,
    ...r.signatures.map((s) => `  ${s.key_id} ${s.algorithm} ${s.status}${s.verified_by ? ` (key ${s.verified_by})` : ''}`),
  ];
  if (withVerdict) {
    lines.push(`verdict   ${r.ok ? 'ACCEPTED' : 'REJECTED'} under ${r.policy}`);
    for (const e of r.errors) lines.push(`  error: ${e}`);
    for (const w of r.warnings) lines.push(`  warning: ${w}`);
  }
  return `${lines.join('\n')}\n`;
}

async function cmdInspect(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, pack: { type: 'string' } });
  if (values.help) return help(io, HELP.inspect!);
  const file = positionals[0] ?? str(values.pack);
  if (file === undefined) throw new UsageError('inspect needs <FILE.gtpack>');
  const bytes = new Uint8Array(await readFile(await archivePath(file)));
  const report = await verifyPack(bytes, { policy: 'dev' });
  io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : humanReport(report, false));
  return 0;
}

async function cmdKeygen(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { out: { type: 'string' } });
  if (values.help) return help(io, HELP.keygen!);
  const dir = str(values.out);
  if (dir === undefined) throw new UsageError('keygen needs --out DIR');
  await mkdir(dir, { recursive: true });
  const k = generateKeyPair();
  const priv = join(dir, 'pack.key.pem');
  await writeFile(priv, privateKeyToPem(k.seed), { mode: 0o600 });
  await chmod(priv, 0o600);
  await writeFile(join(dir, 'pack.pub.pem'), publicKeyToPem(k.publicKey));
  io.out(`${JSON.stringify({ private_key: priv, public_key: join(dir, 'pack.pub.pem'), key_id: keyId(k.publicKey) })}\n`);
  return 0;
}

async function cmdSign(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { pack: { type: 'string' }, key: { type: 'string' }, 'key-id': { type: 'string' } });
  if (values.help) return help(io, HELP.sign!);
  const pack = str(values.pack);
  const keyFile = str(values.key);
  if (pack === undefined || keyFile === undefined) throw new UsageError('sign needs --pack FILE and --key PRIVATE.pem');
  const file = await archivePath(pack);
  const seed = parsePrivateKeyPem(await readFile(keyFile, 'utf8'), keyFile);
  const { bytes, manifest } = signPackArchive(new Uint8Array(await readFile(file)), seed, str(values['key-id']));
  await writeFile(file, bytes);
  const sig = manifest.signatures.signatures.at(-1)!;
  io.err(`signed ${file} as ${sig.key_id} (${manifest.signatures.signatures.length} signature(s), sha256:${sha256Hex(bytes)})\n`);
  return 0;
}

async function cmdVerify(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    pack: { type: 'string' },
    key: { type: 'string', multiple: true },
    policy: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) return help(io, HELP.verify!);
  const pack = str(values.pack) ?? positionals[0];
  if (pack === undefined) throw new UsageError('verify needs --pack FILE');
  const policy = str(values.policy) ?? 'strict';
  if (policy !== 'strict' && policy !== 'dev') throw new UsageError(`--policy must be strict or dev, not "${policy}"`);
  const keyFiles = Array.isArray(values.key) ? values.key.filter((k): k is string => typeof k === 'string') : [];
  const trustedKeys =
    keyFiles.length > 0
      ? await Promise.all(keyFiles.map(async (f) => parsePublicKey(await readFile(f, 'utf8'), f)))
      : parseTrustedKeys(io.env.PACK_TRUSTED_KEYS ?? '');
  const bytes = new Uint8Array(await readFile(await archivePath(pack)));
  const report = await verifyPack(bytes, { policy: policy as TrustPolicy, trustedKeys });
  if (values.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else io.out(humanReport(report, true));
  return report.ok ? 0 : 1;
}

const VERBS: Record<string, (args: string[], io: Io) => Promise<number>> = {
  new: cmdNew,
  build: cmdBuild,
  inspect: cmdInspect,
  keygen: cmdKeygen,
  sign: cmdSign,
  verify: cmdVerify,
  publish: cmdPublish,
};

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    (verb === undefined ? io.err : io.out)(TOOL_HELP);
    return verb === undefined ? 2 : 0;
  }
  const run = VERBS[verb];
  if (run === undefined) {
    io.err(`error: unknown verb "${verb}"\n\n${TOOL_HELP}`);
    return 2;
  }
  try {
    return await run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}\n\n${HELP[verb]}`);
      return 2;
    }
    if (e instanceof PackError) {
      io.err(`error: ${e.message}\n`);
      return 1;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      io.err(`error: ${errorMessage(e)}\n`);
      return 1;
    }
    throw e;
  }
}
