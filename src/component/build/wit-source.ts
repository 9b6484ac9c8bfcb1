/**
 * WIT packages as text: a component's own package, its `wit/deps`, and this repository's `wit/`
 * folder, joined into one source with nested `package … { }` blocks (componentize-js and jco
 * cannot read WIT files from disk here, but both accept WIT source text).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ComponentBuildError } from './component-build-error.js';

/** This repository's WIT packages (one folder per package). */
export const HOST_WIT_DIR = fileURLToPath(new URL('../../../wit/', import.meta.url));
/** One WIT package: its full name and the text of its files without the `package` line. */
export interface WitPackage {
  /** e.g. `greentic:component@0.6.0` */
  name: string;
  body: string;
  /** Where it was read from (for messages). */
  source: string;
}

const PACKAGE_LINE = /^\s*package\s+([a-z0-9-]+:[a-z0-9-/]+(?:@[0-9A-Za-z.+-]+)?)\s*;\s*$/m;

async function witFilesIn(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.wit'))
    .map((e) => join(dir, e.name))
    .sort();
}

/** Reads the package in `dir` (all its `.wit` files, which must share one `package` line). */
export async function readWitPackage(dir: string): Promise<WitPackage | undefined> {
  const files = await witFilesIn(dir);
  if (files.length === 0) return undefined;
  let name: string | undefined;
  const bodies: string[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    const m = PACKAGE_LINE.exec(text);
    if (!m?.[1]) throw new ComponentBuildError('WitInvalid', `${file}: no "package <ns>:<name>[@<version>];" line`);
    if (name !== undefined && name !== m[1]) {
      throw new ComponentBuildError('WitInvalid', `${file}: package ${m[1]} differs from ${name} declared by its siblings`);
    }
    name = m[1];
    bodies.push(text.replace(PACKAGE_LINE, ''));
  }
  return { name: name as string, body: bodies.join('\n'), source: dir };
}

/** Reads every package folder directly under `dir` (e.g. this repo's `wit/` or a `wit/deps/`). */
export async function readWitPackages(dir: string): Promise<WitPackage[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  const out: WitPackage[] = [];
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const pkg = await readWitPackage(join(dir, e.name));
    if (pkg) out.push(pkg);
  }
  return out;
}

/**
 * One WIT text holding `main` as the top-level package and every dependency as a nested
 * `package a:b@v { … }` block. componentize-js and jco cannot read WIT files from disk here
 * (their WASI sandbox has no preopen for the path), but both accept WIT source text.
 */
export function witSourceForWorld(main: WitPackage, deps: readonly WitPackage[]): string {
  const seen = new Set([main.name]);
  const parts = [`package ${main.name};\n${main.body.trim()}\n`];
  for (const dep of deps) {
    if (seen.has(dep.name)) continue;
    seen.add(dep.name);
    parts.push(`package ${dep.name} {\n${dep.body.trim()}\n}\n`);
  }
  return parts.join('\n');
}

/** The host's packages, overridden by any the component ships under `wit/deps`. */
export async function witSourceForComponentDir(componentDir: string): Promise<{ text: string; worlds: string[]; pkg: string }> {
  const witDir = join(componentDir, 'wit');
  const main = await readWitPackage(witDir);
  if (!main) throw new ComponentBuildError('WitMissing', `${witDir}: no .wit file declaring the component's world`);
  const local = await readWitPackages(join(witDir, 'deps'));
  const host = await readWitPackages(HOST_WIT_DIR);
  const worlds = [...main.body.matchAll(/^\s*world\s+([a-z0-9-]+)\s*\{/gm)].map((m) => m[1] as string);
  return { text: witSourceForWorld(main, [...local, ...host]), worlds, pkg: main.name };
}
