import { Hono } from 'hono';
import type { Env } from './env.js';

export { ChannelSession } from './session/channel-session.js';

export const app = new Hono<{ Bindings: Env }>();

app.get('/healthz', (c) => c.json({ status: 'ok', env: c.env.GREENTIC_ENV }));

app.notFound((c) => c.json({ error: 'not_found', message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<unknown>, _env: Env): Promise<void> {
    // Consumers are wired with the runtime core; until then nothing is acknowledged so no message is lost.
    batch.retryAll();
  },
} satisfies ExportedHandler<Env>;
