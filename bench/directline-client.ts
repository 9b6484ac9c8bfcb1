/**
 * A Direct Line 3.0 client for the end-to-end benchmarks, speaking to a running server as WebChat
 * does: mint a token, start a conversation, open its WebSocket stream, POST activities. Every bot
 * reply frame is timestamped on arrival and filed under its `replyToId` (the id the POST answered
 * with), because the reply can arrive before the POST's own response does.
 */
import type { ActivitySet } from '../src/channels/webchat/conversation.js';

/** Milliseconds on the Unix clock with sub-millisecond resolution, comparable with the server's span times. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

export interface PostResult {
  /** HTTP status, or 0 when the request failed before an answer (network error, timeout). */
  status: number;
  /** The echo's activity id (2xx only). */
  id?: string;
  sentAt: number;
  answeredAt: number;
}

interface Waiter {
  resolve(at: number): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Conversation {
  /** Arrival time of each bot reply, by the user activity it answers. */
  private readonly replies = new Map<string, number>();
  private readonly waiters = new Map<string, Waiter>();
  private closed = false;

  private constructor(
    private readonly domain: string,
    readonly id: string,
    private readonly token: string,
    private readonly user: string,
    private readonly socket: WebSocket,
  ) {
    socket.addEventListener('message', (event) => this.onFrame(event.data));
  }

  /** Starts a conversation of `tenant` and waits until its stream is open (the first frame has arrived). */
  static async open(base: string, tenant: string, user: string): Promise<Conversation> {
    const minted = await expectJson<{ token: string; domain: string }>(
      await fetch(`${base}/v1/messaging/webchat/${tenant}/token`, { method: 'POST' }),
      'token',
    );
    const started = await expectJson<{ conversationId: string; token: string; streamUrl: string }>(
      await fetch(`${minted.domain}/conversations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${minted.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user: { id: user } }),
      }),
      'start conversation',
    );
    const socket = new WebSocket(started.streamUrl);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the conversation stream did not open within 30 s')), 30_000);
      socket.addEventListener('message', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.addEventListener('error', () => {
        clearTimeout(timer);
        reject(new Error('the conversation stream failed to open'));
      });
    });
    return new Conversation(minted.domain, started.conversationId, started.token, user, socket);
  }

  /** POSTs an activity; never throws (a failure is status 0). `timeoutMs` bounds the wait for the answer. */
  async post(activity: Record<string, unknown>, timeoutMs = 30_000): Promise<PostResult> {
    const sentAt = nowMs();
    try {
      const res = await fetch(`${this.domain}/conversations/${this.id}/activities`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ from: { id: this.user }, ...activity }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      const answeredAt = nowMs();
      if (!res.ok) return { status: res.status, sentAt, answeredAt };
      return { status: res.status, id: (JSON.parse(text) as { id: string }).id, sentAt, answeredAt };
    } catch {
      return { status: 0, sentAt, answeredAt: nowMs() };
    }
  }

  /** A user message, the kind of activity the bot answers. */
  say(text: string, timeoutMs?: number): Promise<PostResult> {
    return this.post({ type: 'message', text }, timeoutMs);
  }

  /** Arrival time of the bot's first reply to `activityId`, or undefined after `timeoutMs`. */
  reply(activityId: string, timeoutMs: number): Promise<number | undefined> {
    const at = this.replies.get(activityId);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(activityId);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.set(activityId, { resolve, timer });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiters.values()) clearTimeout(waiter.timer);
    this.socket.close(1000, 'done');
  }

  private onFrame(data: unknown): void {
    const at = nowMs();
    if (typeof data !== 'string') return;
    const set = JSON.parse(data) as ActivitySet;
    for (const activity of set.activities) {
      const replyTo = activity.replyToId;
      if (typeof replyTo !== 'string' || this.replies.has(replyTo)) continue;
      this.replies.set(replyTo, at);
      const waiter = this.waiters.get(replyTo);
      if (waiter !== undefined) {
        this.waiters.delete(replyTo);
        clearTimeout(waiter.timer);
        waiter.resolve(at);
      }
    }
  }
}

async function expectJson<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}
