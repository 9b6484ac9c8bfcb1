// Every provider's reply sender, by channel name. The Worker's composition root (worker.ts) gives
// this registry to the channel object and to the egress queue consumer.
import type { EgressSenders } from './channel.js';
import { WEBCHAT_CHANNEL, webchatEgressSender } from './webchat/index.js';

export const egressSenders: EgressSenders = { [WEBCHAT_CHANNEL]: webchatEgressSender };
