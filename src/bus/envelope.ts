// ChannelMessageEnvelope (greentic-types messaging, runner reference §5.2): what every provider
// adapter normalises an inbound message to, what the channel object consumes, and the body of
// every egress message. JSON on the wire, serde field names.
import { z } from 'zod';
import { tenantCtxSchema } from '../edge/tenant-ctx.js';

export const replyScopeSchema = z.object({
  conversation: z.string(),
  thread: z.string().optional(),
  reply_to: z.string().optional(),
  correlation: z.string().optional(),
});
export type ReplyScope = z.infer<typeof replyScopeSchema>;

export const actorSchema = z.object({ id: z.string(), kind: z.string().optional() });
export const destinationSchema = z.object({ id: z.string(), kind: z.string().optional() });

export const attachmentSchema = z.object({
  mime_type: z.string(),
  url: z.string().optional(),
  content: z.unknown().optional(),
  name: z.string().optional(),
  size_bytes: z.number().int().nonnegative().optional(),
});

export const channelMessageEnvelopeSchema = z.object({
  id: z.string().min(1),
  tenant: tenantCtxSchema,
  channel: z.string().min(1),
  session_id: z.string().min(1),
  reply_scope: replyScopeSchema.optional(),
  from: actorSchema.optional(),
  to: z.array(destinationSchema).default([]),
  correlation_id: z.string().optional(),
  text: z.string().optional(),
  attachments: z.array(attachmentSchema).default([]),
  metadata: z.record(z.string(), z.string()).default({}),
  extensions: z.record(z.string(), z.unknown()).default({}),
});

export type ChannelMessageEnvelope = z.infer<typeof channelMessageEnvelopeSchema>;
export type ChannelMessageEnvelopeInput = z.input<typeof channelMessageEnvelopeSchema>;
export type Attachment = z.infer<typeof attachmentSchema>;
