/**
 * Runs in Node before the workers pool: writes the real upstream packs the end-to-end tests upload
 * as a module (test/workers/generated/upstream-packs.ts, not in git). A module rather than
 * `provide()`: provided values travel in one WebSocket message that the component fixtures
 * already fill close to its limit.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const path = fileURLToPath(new URL('../../../shared/fixtures/upstream-packs/quickstart-app.gtpack', import.meta.url));
  let pack = '';
  try {
    pack = readFileSync(path).toString('base64');
  } catch (err) {
    console.warn(`[upstream packs] ${path} unavailable: ${(err as Error).message}`);
  }
  const dir = fileURLToPath(new URL('./generated/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    `${dir}upstream-packs.ts`,
    `/** quickstart-app.gtpack from ../shared/fixtures/upstream-packs (base64), or '' when absent. */\nexport const QUICKSTART_APP_PACK = ${JSON.stringify(pack)};\n`,
  );
}
