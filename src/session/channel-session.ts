import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env.js';

/**
 * One object per `{env}:{tenant}:{team}:{channel}[:{shard}]`. The session store, waits, dedup
 * and outbox live here (see DESIGN.md, "The data path").
 */
export class ChannelSession extends DurableObject<Env> {
  override async fetch(_request: Request): Promise<Response> {
    return Response.json({ error: 'not_implemented', message: 'channel sessions are not wired yet' }, { status: 501 });
  }
}
