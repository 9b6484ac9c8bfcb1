// How the admin routes get the secrets keyring: a missing or malformed SECRETS_ENCRYPTION_KEYS is
// a deployment problem the operator fixes, so it answers 503 with the setting named, never 500.
import type { Context } from 'hono';
import { type Keyring, SecretCipherError } from '../edge/secret-cipher.js';
import { logEvent } from '../edge/telemetry.js';
import type { Env } from '../env.js';

/**
 * The deployment's keyring as `load` reads it from the setting (`keyringOf`, or `requireKeyring`
 * when there must be one), or the 503 answer naming the setting to fix.
 */
export async function adminKeyring<K extends Keyring | undefined>(
  c: Context<{ Bindings: Env }>,
  load: (setting: string | undefined) => Promise<K>,
): Promise<{ keyring: K } | { failure: Response }> {
  try {
    return { keyring: await load(c.env.SECRETS_ENCRYPTION_KEYS) };
  } catch (err) {
    if (!(err instanceof SecretCipherError)) throw err;
    const error = err.code === 'SecretsKeyMissing' ? 'secrets_key_missing' : 'secrets_keyring_invalid';
    logEvent('error', 'admin.secrets_keyring', { error });
    return { failure: c.json({ error, message: err.message }, 503) };
  }
}
