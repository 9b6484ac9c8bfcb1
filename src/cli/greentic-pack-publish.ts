/**
 * `greentic-pack publish`: applies a bundle config (`greentic.demo.yaml`) to a running runner
 * through its admin API — builds (and optionally signs) the bundle's pack sources, uploads them,
 * sets each tenant's listed secrets, and activates the listed packs per tenant. Idempotent: packs
 * build deterministically, an upload of known bytes is a no-op, a secret the runner already holds
 * with the same value is left as it is, and an activation already in place is skipped.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SECRET_KEY } from '../component/edge/host-policy.js';
import { CodedError, errorMessage } from '../core/coded-error.js';
import { buildPack, openPack, PackError, parsePrivateKeyPem, sha256Hex, signPackArchive } from '../pack/index.js';
import { parseTimers } from '../timers/timer-bindings.js';
import type { TimerBinding } from '../timers/timer-types.js';

export interface PublishIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
}

export const PUBLISH_HELP = `greentic-pack publish --bundle FILE --url URL --token TOKEN [--key PRIVATE.pem] [--secrets FILE.json] [--json]

Applies a bundle config (e.g. greentic.demo.yaml) to a running runner through its admin API:
builds each pack source listed under "packs" (a directory with pack.yaml, or a .gtpack file),
signs built packs with --key when given, uploads them (POST /admin/v1/packs) and activates them
for the bundle's tenants (PUT /admin/v1/tenants/{tenant}/packs/{pack_id}). Secrets a tenant
lists by name (tenants.<tenant>.secrets) are set first (PUT /admin/v1/tenants/{tenant}/secrets/{key});
each value comes from --secrets, else from the environment variable of the same name. A tenant's
timers (tenants.<tenant>.timers: [{flow_id, cron, schedule_id?}], upstream's tenant bindings)
replace its schedules after the activations (PUT /admin/v1/tenants/{tenant}/schedules). Re-running
with the same inputs changes nothing.

Options:
  --bundle FILE   bundle config (YAML)
  --url URL       the runner's base URL, e.g. http://127.0.0.1:8787
  --token TOKEN   the admin token (default: $ADMIN_TOKEN)
  --key FILE      Ed25519 private key (PKCS#8 PEM) to sign packs built from source
  --secrets FILE  JSON object mapping secret name to value (string), e.g. {"DEMO_API_KEY": "…"}
  --json          print {packs, secrets, activations, schedules} on stdout (secret names only, never values)
`;

const packRefSchema = z.union([z.string().min(1), z.object({ path: z.string().min(1) }).strict()]);

/** greentic-start's bundle shape (`tenant`, `team`, `services`, `providers`, …) plus the packs to activate. */
export const bundleSchema = z.looseObject({
  tenant: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default('demo'),
  team: z.string().default('default'),
  services: z.record(z.string(), z.unknown()).optional(),
  providers: z.record(z.string(), z.unknown()).optional(),
  /** Pack sources, relative to the bundle file. */
  packs: z.array(packRefSchema).default([]),
  /**
   * Per tenant: packs to activate (without `tenants`, every listed pack is activated for
   * `tenant`) and the NAMES of secrets to set; values never live in the bundle.
   */
  tenants: z
    .record(
      z.string().regex(/^[A-Za-z0-9._-]+$/),
      z.object({
        packs: z.array(z.string().min(1)).default([]),
        secrets: z.array(z.string().regex(SECRET_KEY, 'a secret name (letters, digits, ".", "_", "-", "/")')).default([]),
        /** Upstream tenant bindings' `timers[]`: when present, the tenant's schedules are replaced by these. */
        timers: z.array(z.unknown()).optional(),
      }),
    )
    .optional(),
});
export type Bundle = z.infer<typeof bundleSchema>;

export class PublishError extends CodedError<'InvalidBundle' | 'AdminApi' | 'UnknownPack' | 'MissingSecret' | 'InvalidSecrets'> {
  override readonly name = 'PublishError';
  constructor(code: PublishError['code'], message: string) {
    super(code, `${code}: ${message}`);
  }
}

export interface PackOutcome {
  pack_id: string;
  version: string;
  digest: string;
  source: string;
  status: 'uploaded' | 'unchanged';
}

export interface SecretOutcome {
  tenant: string;
  key: string;
  status: 'set' | 'unchanged';
}

export interface ActivationOutcome {
  tenant: string;
  pack_id: string;
  version: string;
  status: 'activated' | 'unchanged';
}

const SKIP_DIRS = new Set(['dist', 'node_modules', 'target']);

/** A pack source directory as the builder takes it (top-level dist/, node_modules/, target/ and dot-dirs skipped). */
export async function readPackTree(root: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const walk = async (dir: string, depth: number): Promise<void> => {
    for (const ent of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, ent.name);
      if (ent.isDirectory()) {
        if (depth === 0 && (SKIP_DIRS.has(ent.name) || ent.name.startsWith('.'))) continue;
        await walk(full, depth + 1);
      } else if (ent.isFile()) {
        files.set(relative(root, full).split(sep).join('/'), new Uint8Array(await readFile(full)));
      }
    }
  };
  await walk(root, 0);
  return files;
}

export async function loadBundle(file: string): Promise<Bundle> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(file, 'utf8'));
  } catch (err) {
    throw new PublishError('InvalidBundle', `${file}: ${errorMessage(err)}`);
  }
  const parsed = bundleSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new PublishError('InvalidBundle', `${file}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** The archive for one bundle entry: a built (and signed, with a key) source directory, or a .gtpack file as is. */
export async function packBytes(
  path: string,
  seed: Uint8Array | undefined,
  progress: (line: string) => void = () => {},
): Promise<Uint8Array> {
  const info = await stat(path);
  if (!info.isDirectory()) return new Uint8Array(await readFile(path));
  const built = buildPack(await readPackTree(path), { onProgress: progress });
  return seed === undefined ? built.bytes : signPackArchive(built.bytes, seed).bytes;
}

/** A `--secrets` file: a JSON object of name → string value. */
export async function loadSecretsFile(file: string): Promise<Record<string, string>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== undefined) throw err;
    throw new PublishError('InvalidSecrets', `${file}: not JSON (${errorMessage(err)})`);
  }
  const parsed = z.record(z.string(), z.string()).safeParse(raw);
  if (!parsed.success)
    throw new PublishError(
      'InvalidSecrets',
      `${file}: expected a JSON object mapping secret names to string values: ${z.prettifyError(parsed.error)}`,
    );
  return parsed.data;
}

/** Every listed secret's value (the file first, then the environment); all missing names in one error. */
function secretValues(
  bundleFile: string,
  bundle: Bundle,
  given: Record<string, string>,
  env: Record<string, string | undefined>,
): Map<string, string> {
  const values = new Map<string, string>();
  const missing: string[] = [];
  for (const [tenant, spec] of Object.entries(bundle.tenants ?? {})) {
    for (const name of spec.secrets) {
      const value = Object.hasOwn(given, name) ? given[name] : env[name];
      if (value === undefined || value === '') missing.push(`${name} (tenant ${tenant})`);
      else values.set(name, value);
    }
  }
  if (missing.length > 0) {
    throw new PublishError(
      'MissingSecret',
      `${bundleFile} lists secrets with no value: ${missing.join(', ')}; pass them in --secrets FILE.json or as environment variables`,
    );
  }
  return values;
}

async function call(
  io: PublishIo,
  url: string,
  token: string,
  method: string,
  path: string,
  body?: BodyInit,
  contentType?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const doFetch = io.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(`${url.replace(/\/+$/, '')}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(contentType === undefined ? {} : { 'Content-Type': contentType }) },
      ...(body === undefined ? {} : { body }),
    });
  } catch (err) {
    throw new PublishError('AdminApi', `${method} ${url}${path}: ${errorMessage(err)}`);
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    json = { message: text };
  }
  return { status: res.status, json };
}

function failure(method: string, path: string, r: { status: number; json: Record<string, unknown> }): PublishError {
  const detail = typeof r.json.message === 'string' ? r.json.message : JSON.stringify(r.json);
  return new PublishError('AdminApi', `${method} ${path} answered ${r.status}: ${detail}`);
}

export async function publishBundle(
  bundleFile: string,
  options: {
    url: string;
    token: string;
    seed?: Uint8Array;
    /** Supplies the archive for a pack source (e.g. from a content-hash cache); defaults to building it. */
    archive?: (absolutePath: string) => Promise<Uint8Array>;
    /** Secret values by name (e.g. from --secrets); names absent here are read from `io.env`. */
    secrets?: Record<string, string>;
  },
  io: PublishIo,
): Promise<{ packs: PackOutcome[]; secrets: SecretOutcome[]; activations: ActivationOutcome[]; schedules: ScheduleOutcome[] }> {
  const bundle = await loadBundle(bundleFile);
  // Resolved before anything is uploaded, so a missing value changes nothing on the runner.
  const values = secretValues(bundleFile, bundle, options.secrets ?? {}, io.env);
  const timers = bundleTimers(bundleFile, bundle);
  const root = dirname(resolve(bundleFile));
  const packs: PackOutcome[] = [];
  for (const ref of bundle.packs) {
    const source = typeof ref === 'string' ? ref : ref.path;
    const bytes =
      options.archive !== undefined ? await options.archive(resolve(root, source)) : await packBytes(resolve(root, source), options.seed);
    const digest = `sha256:${sha256Hex(bytes)}`;
    const r = await call(
      io,
      options.url,
      options.token,
      'POST',
      '/admin/v1/packs',
      bytes as unknown as BodyInit,
      'application/octet-stream',
    );
    if (r.status !== 200 && r.status !== 201) throw failure('POST', '/admin/v1/packs', r);
    const opened = openPack(bytes);
    const packId = String(r.json.pack_id ?? opened.manifest?.pack_id);
    const version = String(r.json.version ?? opened.manifest?.version);
    packs.push({ pack_id: packId, version, digest, source, status: r.status === 201 ? 'uploaded' : 'unchanged' });
    io.err(`${r.status === 201 ? 'uploaded ' : 'unchanged'} ${packId}@${version} (${digest.slice(0, 19)}…) from ${source}\n`);
  }

  // Secrets before activations: the first message to a newly active pack already sees them.
  // Every value is sent: the runner keeps only a keyed digest of what it holds, so it is the one
  // that can tell an unchanged value (it answers `unchanged: true` and writes nothing).
  const secrets: SecretOutcome[] = [];
  for (const [tenant, spec] of Object.entries(bundle.tenants ?? {})) {
    for (const key of spec.secrets) {
      const bytes = new TextEncoder().encode(values.get(key));
      const path = `/admin/v1/tenants/${tenant}/secrets/${encodeURIComponent(key)}`;
      const r = await call(io, options.url, options.token, 'PUT', path, bytes as unknown as BodyInit, 'application/octet-stream');
      if (r.status !== 200 && r.status !== 201) throw failure('PUT', path, r);
      const status = r.json.unchanged === true ? 'unchanged' : 'set';
      secrets.push({ tenant, key, status });
      io.err(`${status === 'set' ? 'set      ' : 'unchanged'} tenant ${tenant}: secret ${key}\n`);
    }
  }

  const plan: Record<string, string[]> =
    bundle.tenants !== undefined
      ? Object.fromEntries(Object.entries(bundle.tenants).map(([t, v]) => [t, v.packs]))
      : { [bundle.tenant]: packs.map((p) => p.pack_id) };
  const activations: ActivationOutcome[] = [];
  for (const [tenant, ids] of Object.entries(plan)) {
    if (ids.length === 0) continue;
    const listPath = `/admin/v1/tenants/${tenant}/packs`;
    const current = await call(io, options.url, options.token, 'GET', listPath);
    if (current.status !== 200) throw failure('GET', listPath, current);
    const active = (Array.isArray(current.json.packs) ? current.json.packs : []) as { pack_id?: string; digest?: string }[];
    for (const id of ids) {
      const pack = packs.find((p) => p.pack_id === id);
      if (pack === undefined)
        throw new PublishError(
          'UnknownPack',
          `tenant "${tenant}" activates "${id}", which is not among the bundle's packs (${packs.map((p) => p.pack_id).join(', ') || 'none'})`,
        );
      if (active.some((a) => a.pack_id === id && a.digest === pack.digest)) {
        activations.push({ tenant, pack_id: id, version: pack.version, status: 'unchanged' });
        io.err(`unchanged tenant ${tenant}: ${id}@${pack.version} already active\n`);
        continue;
      }
      const path = `${listPath}/${encodeURIComponent(id)}`;
      const r = await call(io, options.url, options.token, 'PUT', path, JSON.stringify({ digest: pack.digest }), 'application/json');
      if (r.status !== 200) throw failure('PUT', path, r);
      activations.push({ tenant, pack_id: id, version: pack.version, status: 'activated' });
      io.err(`activated tenant ${tenant}: ${id}@${pack.version}\n`);
    }
  }
  // After activations: a timer names a flow of the tenant's active packs.
  const schedules: ScheduleOutcome[] = [];
  for (const [tenant, list] of timers) {
    const path = `/admin/v1/tenants/${tenant}/schedules`;
    const r = await call(io, options.url, options.token, 'PUT', path, JSON.stringify({ timers: list }), 'application/json');
    if (r.status !== 200) throw failure('PUT', path, r);
    schedules.push({ tenant, timers: list.length });
    io.err(`scheduled tenant ${tenant}: ${list.length} timer(s)\n`);
  }
  return { packs, secrets, activations, schedules };
}

interface ScheduleOutcome {
  tenant: string;
  timers: number;
}

/** Each tenant's `timers` checked as the runner checks them, so a bad one changes nothing on the runner. */
function bundleTimers(file: string, bundle: Bundle): Map<string, TimerBinding[]> {
  const out = new Map<string, TimerBinding[]>();
  for (const [tenant, spec] of Object.entries(bundle.tenants ?? {})) {
    if (spec.timers === undefined) continue;
    const parsed = parseTimers({ timers: spec.timers }, `/tenants/${tenant}`);
    if (!parsed.ok) throw new PublishError('InvalidBundle', `${file}: ${parsed.message}`);
    out.set(tenant, parsed.timers);
  }
  return out;
}

/** `greentic-pack publish …`; returns the exit code. */
export async function cmdPublish(args: string[], io: PublishIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        bundle: { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
        key: { type: 'string' },
        secrets: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.err(`error: ${errorMessage(err)}\n\n${PUBLISH_HELP}`);
    return 2;
  }
  if (values.help === true) {
    io.out(PUBLISH_HELP);
    return 0;
  }
  const token = values.token ?? io.env.ADMIN_TOKEN;
  if (values.bundle === undefined || values.url === undefined || token === undefined || token === '') {
    io.err(`error: publish needs --bundle FILE, --url URL and --token TOKEN (or $ADMIN_TOKEN)\n\n${PUBLISH_HELP}`);
    return 2;
  }
  try {
    const seed = values.key === undefined ? undefined : parsePrivateKeyPem(await readFile(values.key, 'utf8'), values.key);
    const secrets = values.secrets === undefined ? undefined : await loadSecretsFile(values.secrets);
    const result = await publishBundle(
      values.bundle,
      { url: values.url, token, ...(seed === undefined ? {} : { seed }), ...(secrets === undefined ? {} : { secrets }) },
      io,
    );
    if (values.json === true) io.out(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof PublishError || err instanceof PackError) {
      io.err(`error: ${err.message}\n`);
      return 1;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      io.err(`error: ${errorMessage(err)}\n`);
      return 1;
    }
    throw err;
  }
}
