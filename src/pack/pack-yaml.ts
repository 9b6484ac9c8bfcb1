// `pack.yaml`, the pack source's own description: its schema (the trust boundary of a build) and
// the parse that turns the file into typed input for `buildPack`.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { errorMessage } from '../core/coded-error.js';
import { PackError } from './errors.js';

const idPattern = /^[A-Za-z0-9._-]+$/;
const semver = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

const extensionRefSchema = z.looseObject({
  kind: z.string(),
  version: z.string(),
  digest: z.string().optional(),
  location: z.string().optional(),
  inline: z.unknown().optional(),
});

export const packYamlSchema = z.looseObject({
  pack_id: z.string().regex(idPattern, 'pack_id may only contain ASCII letters, digits, ".", "_" and "-"'),
  version: z.string().regex(semver, 'version must be a semantic version (e.g. 0.1.0)'),
  kind: z
    .string()
    .transform((k) => k.toLowerCase())
    .pipe(z.enum(['application', 'provider', 'infrastructure', 'library'])),
  publisher: z.string().min(1),
  name: z.string().optional(),
  bootstrap: z
    .looseObject({ install_flow: z.string().optional(), upgrade_flow: z.string().optional(), installer_component: z.string().optional() })
    .optional(),
  components: z
    .array(
      z.looseObject({
        id: z.string().regex(idPattern),
        version: z.string().regex(semver),
        world: z.string().optional(),
        wasm: z.string().min(1),
      }),
    )
    .nullish(),
  dependencies: z
    .array(
      z.looseObject({
        alias: z.string().min(1),
        pack_id: z.string().regex(idPattern),
        version_req: z.string().min(1),
        required_capabilities: z.array(z.string()).optional(),
      }),
    )
    .nullish(),
  flows: z
    .array(
      z.looseObject({
        id: z.string().regex(idPattern),
        file: z.string().min(1),
        tags: z.array(z.string()).optional(),
        entrypoints: z.array(z.string()).optional(),
      }),
    )
    .nullish(),
  assets: z.array(z.looseObject({ path: z.string().min(1) })).nullish(),
  extensions: z.record(z.string(), extensionRefSchema).nullish(),
});
export type PackYaml = z.infer<typeof packYamlSchema>;

function sourceError(message: string, where: string): PackError {
  return new PackError('PackSource', message, where);
}

/** The parsed `pack.yaml` of a source tree; the first schema problem is a `PackSource` error. */
export function parsePackYaml(files: ReadonlyMap<string, Uint8Array>): PackYaml {
  const bytes = files.get('pack.yaml');
  if (bytes === undefined) throw sourceError('pack.yaml is missing', 'pack.yaml');
  const src = new TextDecoder().decode(bytes);
  let raw: unknown;
  try {
    raw = parseYaml(src);
  } catch (e) {
    throw sourceError(`not valid YAML: ${errorMessage(e)}`, 'pack.yaml');
  }
  const parsed = packYamlSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw sourceError(issue.message, `pack.yaml:/${issue.path.join('/')}`);
  }
  return parsed.data;
}
