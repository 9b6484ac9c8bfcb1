// Microsoft Teams (Bot Framework): Bot Connector activities in, connector replies with Adaptive Cards out.
import type { Channel } from '../channel.js';
import { TEAMS_CHANNEL, teamsIngress } from './ingress.js';
import { teamsSender } from './sender.js';

export const teamsChannel: Channel = { name: TEAMS_CHANNEL, ingress: teamsIngress, sender: teamsSender };
