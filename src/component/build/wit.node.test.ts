import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateGuestTypes, hostGuestTypes } from './guest-types.js';
import { HOST_WIT_DIR, readWitPackages, witSourceForWorld } from './wit-source.js';

const WORLDS = [
  'greentic:component/component@0.6.0',
  'greentic:component/component-qa-support@0.6.0',
  'greentic:component/component-i18n-support@0.6.0',
  'greentic:types-core/types@0.6.0',
  'greentic:secrets-store/store@1.0.0',
  'greentic:secrets-store/store@1.1.0',
  'greentic:state/store@1.0.0',
  'greentic:http/client@1.0.0',
  'greentic:http/client@1.1.0',
  'greentic:telemetry/logger@1.0.0',
  'greentic:host/runner-host@1.0.0',
  'wasix:mcp/mcp-router@25.6.18',
];

async function allPackagesText(): Promise<string> {
  const deps = await readWitPackages(HOST_WIT_DIR);
  return witSourceForWorld({ name: 'greentic-test:root', body: '', source: '(test)' }, deps);
}

describe('wit/ packages', () => {
  it('hold one folder per package, named <package>@<version>', async () => {
    const pkgs = await readWitPackages(HOST_WIT_DIR);
    expect(pkgs.map((p) => p.name).sort()).toEqual([
      'greentic:component@0.6.0',
      'greentic:host@1.0.0',
      'greentic:http@1.0.0',
      'greentic:http@1.1.0',
      'greentic:interfaces-types@0.1.0',
      'greentic:secrets-store@1.0.0',
      'greentic:secrets-store@1.1.0',
      'greentic:state@1.0.0',
      'greentic:telemetry@1.0.0',
      'greentic:types-core@0.6.0',
      'wasix:mcp@25.6.18',
    ]);
    // Greentic's own packages drop the namespace; others keep it as a prefix (`wasix-mcp@…`).
    for (const p of pkgs) expect(p.source.endsWith(p.name.replace('greentic:', '').replace(':', '-'))).toBe(true);
  });

  it.each(WORLDS)('world %s resolves with all its dependencies', async (world) => {
    const files = await generateGuestTypes(await allPackagesText(), world);
    expect(Object.keys(files).some((f) => f.startsWith('interfaces/'))).toBe(true);
  });

  it('the node world exports describe and invoke with the upstream envelope fields', async () => {
    const files = await generateGuestTypes(await allPackagesText(), 'greentic:component/component@0.6.0');
    const node = files['interfaces/greentic-component-node.d.ts'] ?? '';
    expect(node).toContain('export function describe(): ComponentDescriptor;');
    expect(node).toContain('export function invoke(op: string, envelope: InvocationEnvelope): InvocationResult;');
    for (const field of [
      'ctx: TenantCtx',
      'flowId: FlowId',
      'stepId: StepId',
      'componentId: ComponentId',
      'attempt: number',
      'payloadCbor: Uint8Array',
      'metadataCbor?: Uint8Array',
    ]) {
      expect(node).toContain(field);
    }
  });

  it('the MCP router world exports list-tools and call-tool with the tool-error cases', async () => {
    const files = await generateGuestTypes(await allPackagesText(), 'wasix:mcp/mcp-router@25.6.18');
    const router = Object.entries(files).find(([name]) => name.includes('wasix-mcp-router'))?.[1] ?? '';
    expect(router).toContain('export function listTools(): Array<Tool>;');
    expect(router).toContain('export function callTool(toolName: string, arguments: Json): Response;');
    for (const tag of ['invalid-parameters', 'execution-error', 'schema-error', 'not-found']) expect(router).toContain(`'${tag}'`);
  });

  it('an unknown world is reported with code WitInvalid', async () => {
    await expect(generateGuestTypes(await allPackagesText(), 'greentic:component/nope@0.6.0')).rejects.toMatchObject({
      code: 'WitInvalid',
    });
  });

  it('the template ships guest types generated from the current WIT', async () => {
    const dir = fileURLToPath(new URL('../template/types/interfaces/', import.meta.url));
    const shipped: Record<string, string> = {};
    for (const f of await readdir(dir)) shipped[`interfaces/${f}`] = await readFile(join(dir, f), 'utf8');
    expect(shipped).toEqual(await hostGuestTypes());
  });
});
