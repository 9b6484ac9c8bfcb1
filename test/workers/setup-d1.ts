// Applies the pack-index migrations to the test D1 database before each test file.
import { applyD1Migrations, env } from 'cloudflare:test';

const testEnv = env as unknown as { PACK_INDEX: D1Database; TEST_D1_MIGRATIONS: Parameters<typeof applyD1Migrations>[1] };
await applyD1Migrations(testEnv.PACK_INDEX, testEnv.TEST_D1_MIGRATIONS);
