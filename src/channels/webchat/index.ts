// WebChat: the Direct Line 3.0 facade (routes), the conversation object behind it, and the sender
// that appends the bot's replies to a conversation.
import type { Channel } from '../channel.js';
import { WEBCHAT_CHANNEL } from './directline.js';
import { webchatEgressSender } from './sender.js';

export { WebchatConversation } from './conversation.js';
export { WEBCHAT_CHANNEL, webchatApi } from './directline.js';
export { webchatEgressSender } from './sender.js';

/** WebChat's messages arrive through its own Direct Line API, not the provider webhook. */
export const webchatChannel: Channel = { name: WEBCHAT_CHANNEL, sender: webchatEgressSender };
