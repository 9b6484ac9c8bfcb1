// The largest row a Durable Object's SQLite holds, in bytes. Production refuses a row, string or
// BLOB over 2 MB (SQLITE_TOOBIG) while the local simulation accepts several times that, so tests
// of size limits measure what was stored instead of waiting for an error that never comes here.

/** Cloudflare's limit on one SQL row, string or BLOB in a Durable Object. */
export const DO_ROW_LIMIT_BYTES = 2_000_000;

export interface LargestRow {
  table: string;
  bytes: number;
}

export function largestRow(sql: SqlStorage): LargestRow {
  const tables = sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")
    .toArray()
    .map((t) => t.name);
  let largest: LargestRow = { table: '', bytes: 0 };
  for (const table of tables) {
    const columns = sql
      .exec<{ name: string }>('SELECT name FROM pragma_table_info(?)', table)
      .toArray()
      .map((c) => `COALESCE(LENGTH(CAST("${c.name}" AS BLOB)), 0)`);
    if (columns.length === 0) continue;
    const bytes = sql.exec<{ n: number | null }>(`SELECT MAX(${columns.join(' + ')}) AS n FROM "${table}"`).one().n ?? 0;
    if (bytes > largest.bytes) largest = { table, bytes };
  }
  return largest;
}

/** Every row of every table, as one comparable value (to show a refused request changed nothing). */
export function allRows(sql: SqlStorage): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const tables = sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")
    .toArray();
  for (const { name } of tables) {
    out[name] = sql
      .exec(`SELECT * FROM "${name}"`)
      .toArray()
      .map((row) => JSON.stringify(row))
      .sort();
  }
  return out;
}
