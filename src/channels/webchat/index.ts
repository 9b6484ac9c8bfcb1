// WebChat: the Direct Line 3.0 facade (routes), the conversation object behind it, and the sender
// that appends the bot's replies to a conversation.
export { WebchatConversation } from './conversation.js';
export { WEBCHAT_CHANNEL, webchatApi } from './directline.js';
export { webchatEgressSender } from './sender.js';
