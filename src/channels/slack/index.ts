// Slack: Events API and interactivity in, chat.postMessage with Block Kit out.
import type { Channel } from '../channel.js';
import { SLACK_CHANNEL, slackIngress } from './ingress.js';
import { slackSender } from './sender.js';

export const slackChannel: Channel = { name: SLACK_CHANNEL, ingress: slackIngress, sender: slackSender };
