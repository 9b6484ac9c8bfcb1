// Keyrings for SECRETS_ENCRYPTION_KEYS in tests: each key's bytes are the sha256 of its id, so a
// test can name the keys of a rotation ("new", then the old "test") and get the same bytes the
// Workers pool configures (vitest.config.ts sets `testKeyring('test')`). Never a real key.
import { sha256Bytes } from '../../src/pack/digest.js';
import { base64Encode } from '../../src/pack/keys.js';

/** The keyring setting listing `ids` in order, the first one sealing new values. */
export function testKeyring(...ids: string[]): string {
  return ids.map((id) => `${id}:${base64Encode(sha256Bytes(new TextEncoder().encode(id)))}`).join(',');
}
