// The registry of channels: one line per provider. The Worker's composition root (worker.ts)
// mounts their webhooks and gives their senders to the channel object and the egress consumer.
import type { Channel, EgressSenders } from './channel.js';
import { slackChannel } from './slack/index.js';
import { teamsChannel } from './teams/index.js';
import { telegramChannel } from './telegram/index.js';
import { webchatChannel } from './webchat/index.js';
import { whatsappChannel } from './whatsapp/index.js';

export const channels: readonly Channel[] = [webchatChannel, slackChannel, teamsChannel, telegramChannel, whatsappChannel];

export const egressSenders: EgressSenders = Object.fromEntries(channels.map((c) => [c.name, c.sender]));
