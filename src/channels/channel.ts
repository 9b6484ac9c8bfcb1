// The one interface a messaging provider implements (WebChat, Slack, Teams, Telegram, WhatsApp):
// its name, how its webhooks come in (verify, normalise, hand to the bus) and how replies leave.
// Each provider lives in its own folder; senders.ts registers it with one line.

import { EgressSendError, type ReplySender } from '../bus/delivery.js';
import type { EgressMessage } from '../bus/messages.js';
import type { WorkerEnv } from '../objects.js';

/** One provider's delivery (Slack, Teams, Telegram, WhatsApp, WebChat). */
export interface EgressSender {
  send(message: EgressMessage, env: WorkerEnv): Promise<void>;
}

export type EgressSenders = Readonly<Record<string, EgressSender>>;

/** A provider webhook call at `/v1/messaging/ingress/{provider}/{tenant}/{team?}`, tenant and team checked. */
export interface IngressCall {
  request: Request;
  env: WorkerEnv;
  tenant: string;
  team: string | undefined;
  /** When the request arrived (epoch ms): the provider's acknowledgement deadline runs from here. */
  receivedAt: number;
  /** Work that may finish after the answer (e.g. Telegram's answerCallbackQuery). */
  waitUntil(promise: Promise<unknown>): void;
}

/** Verifies, normalises and hands a provider's delivery to the bus; answers as the provider expects. */
export type IngressHandler = (call: IngressCall) => Promise<Response>;

export interface Channel {
  /** The channel name in envelopes, subjects, object names and the ingress path. */
  readonly name: string;
  /** The provider's webhook; absent for a channel with its own API (WebChat's Direct Line facade). */
  readonly ingress?: IngressHandler;
  readonly sender: EgressSender;
}

/** The reply sender the channel object uses: the sender registered for each reply's channel. */
export function replySender(senders: EgressSenders, env: WorkerEnv): ReplySender {
  return async (message) => {
    const sender = senders[message.envelope.channel];
    if (sender === undefined) {
      throw new EgressSendError('NoSender', `no sender is registered for channel "${message.envelope.channel}"`, false);
    }
    await sender.send(message, env);
  };
}
