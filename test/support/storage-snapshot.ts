// Everything the Worker keeps outside Durable Objects, as one comparable value: every D1 row and
// every R2 key with its etag. Tests of refused requests compare a snapshot before and after.
import type { WorkerEnv } from '../../src/objects.js';

export interface StorageSnapshot {
  d1: Record<string, unknown[]>;
  r2: string[];
}

export async function storageSnapshot(env: WorkerEnv): Promise<StorageSnapshot> {
  const tables = (
    await env.PACK_INDEX.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%' ORDER BY name",
    ).all<{ name: string }>()
  ).results.map((t) => t.name);
  const d1: Record<string, unknown[]> = {};
  for (const table of tables) {
    const rows = (await env.PACK_INDEX.prepare(`SELECT * FROM "${table}"`).all()).results;
    d1[table] = rows.map((r) => JSON.stringify(r)).sort();
  }
  const r2: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.PACKS.list(cursor === undefined ? {} : { cursor });
    for (const o of page.objects) r2.push(`${o.key} ${o.etag}`);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  return { d1, r2: r2.sort() };
}
