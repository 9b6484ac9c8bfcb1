// What a channel (provider) adapter provides to the runtime: a sender for the replies the channel
// object committed. Ingress needs no shared interface: each provider mounts its own routes and
// hands normalised envelopes to the bus (bus/ingress.ts).

import { EgressSendError, type ReplySender } from '../bus/delivery.js';
import type { EgressMessage } from '../bus/messages.js';
import type { WorkerEnv } from '../objects.js';

/** One provider's delivery (Slack, Teams, Telegram, WhatsApp, WebChat). */
export interface EgressSender {
  send(message: EgressMessage, env: WorkerEnv): Promise<void>;
}

export type EgressSenders = Readonly<Record<string, EgressSender>>;

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
