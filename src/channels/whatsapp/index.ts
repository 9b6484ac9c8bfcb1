// WhatsApp Cloud API: signed webhook notifications in, /messages (text, reply buttons, lists) out.
import type { Channel } from '../channel.js';
import { WHATSAPP_CHANNEL, whatsappIngress } from './ingress.js';
import { whatsappSender } from './sender.js';

export const whatsappChannel: Channel = { name: WHATSAPP_CHANNEL, ingress: whatsappIngress, sender: whatsappSender };
