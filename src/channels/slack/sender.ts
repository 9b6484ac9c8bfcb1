// Slack egress: one chat.postMessage per reply, in the thread the user wrote in (channels.md §1.4).
// Slack reports errors as HTTP 200 `ok:false`: throttling and transient codes are retried (429
// after its Retry-After), `fatal_error` may have posted and is not resent, the rest are permanent.

import { EgressSendError } from '../../bus/delivery.js';
import type { EgressMessage } from '../../bus/messages.js';
import type { WorkerEnv } from '../../objects.js';
import { replyContent } from '../card-model.js';
import type { EgressSender } from '../channel.js';
import { apiBase, credential, jsonOf, providerCall, retryAfterHeader, sendFailure, withinSendRate } from '../provider-call.js';
import { slackMessage } from './blocks.js';

const RETRYABLE = new Set(['ratelimited', 'internal_error', 'service_unavailable', 'request_timeout']);

/** The chat.postMessage body for a reply. */
export async function slackPostBody(env: WorkerEnv, message: EgressMessage): Promise<Record<string, unknown>> {
  const envelope = message.envelope;
  const channel = envelope.reply_scope?.conversation;
  if (channel === undefined || channel === '') {
    throw new EgressSendError('NoConversation', `slack reply ${envelope.id} has no reply_scope.conversation`, false);
  }
  const rendered = await slackMessage(env, envelope.tenant.tenant, replyContent(envelope));
  return {
    channel,
    ...(envelope.reply_scope?.thread === undefined ? {} : { thread_ts: envelope.reply_scope.thread }),
    text: rendered.text,
    ...(rendered.blocks === undefined ? {} : { blocks: rendered.blocks }),
    unfurl_links: false,
    // Our key per reply rides along, so an operator checking an uncertain send can find the post.
    metadata: { event_type: 'greentic_reply', event_payload: { intent_id: message.idempotency_key } },
  };
}

export const slackSender: EgressSender = {
  async send(message, env) {
    const token = await credential(env, message, 'slack/bot_token');
    const body = await slackPostBody(env, message);
    await withinSendRate(env, message);
    const res = await providerCall('Slack', `${apiBase(env.SLACK_API_BASE, 'https://slack.com/api')}/chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
    });
    if (res.status === 429) throw sendFailure('Slack', 429, 'rate limited', true, retryAfterHeader(res) ?? 1);
    if (res.status >= 500) throw sendFailure('Slack', res.status, await res.text(), true);
    const answer = await jsonOf(res);
    if (res.status !== 200 || answer === undefined) throw sendFailure('Slack', res.status, 'not a Web API answer', false);
    if (answer.ok === true) return;
    const error = typeof answer.error === 'string' ? answer.error : 'unknown_error';
    if (error === 'fatal_error') {
      throw new EgressSendError(
        'DeliveryUncertain',
        'Slack answered fatal_error: the message may have been posted, so it is not resent',
        false,
      );
    }
    throw sendFailure(
      'Slack',
      200,
      `ok:false ${error}`,
      RETRYABLE.has(error),
      error === 'ratelimited' ? (retryAfterHeader(res) ?? 1) : undefined,
    );
  },
};
