// Telegram: Bot API webhook updates in, sendMessage with MarkdownV2 and inline keyboards out.
import type { Channel } from '../channel.js';
import { TELEGRAM_CHANNEL, telegramIngress } from './ingress.js';
import { telegramSender } from './sender.js';

export const telegramChannel: Channel = { name: TELEGRAM_CHANNEL, ingress: telegramIngress, sender: telegramSender };
