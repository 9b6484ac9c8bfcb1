/**
 * `parameters.webhook` of an `http` / `event` flow: how the runner authenticates calls of the flow
 * on `/v1/webhook/{tenant}/{flow}` (our extension, see docs/compat.md). `parameters` is free-form
 * upstream and compiled into `metadata.extra`, so the block travels in packs that upstream tools
 * build and read without looking at it; the loader checks it here so a mistake is a validation
 * error at build time rather than a refused call at run time.
 */
import { z } from 'zod';

export const DEFAULT_SIGNATURE_HEADER = 'X-Greentic-Signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;
/** Several secrets let several callers (or an old and a new value during a rotation) each be a principal. */
export const MAX_WEBHOOK_SECRETS = 8;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
/** The tenant-secret key rule of the admin API and the component host (no leading "/", no ".."). */
const SECRET_NAME = /^(?!\/)(?!.*\.\.)[A-Za-z0-9._\-/]{1,256}$/;

const secretName = z.string().regex(SECRET_NAME, 'must be a tenant secret key: letters, digits, ".", "_", "-", "/", at most 256');
const secrets = z.union([secretName, z.array(secretName).min(1).max(MAX_WEBHOOK_SECRETS)]);
const headerName = z.string().regex(HEADER_NAME, 'must be an HTTP header name');

export const webhookAuthSchema = z.discriminatedUnion('scheme', [
  z.strictObject({
    scheme: z.literal('hmac-sha256'),
    secret: secrets,
    header: headerName.optional(),
    timestamp_header: headerName.optional(),
    tolerance_seconds: z.int().min(1).max(86_400).optional(),
  }),
  z.strictObject({ scheme: z.literal('bearer'), secret: secrets }),
]);
export type WebhookAuth = z.infer<typeof webhookAuthSchema>;

/** `auth` is ours; other keys of the block are left to whoever reads them. */
export const webhookParametersSchema = z.looseObject({ auth: webhookAuthSchema.optional() });
