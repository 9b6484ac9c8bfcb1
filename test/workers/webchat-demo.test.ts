import { runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import demoFlow from '../../packs/demo/flows/main.ygtc?raw';
import toolsFlow from '../../packs/demo/flows/tools.ygtc?raw';
import type { EgressMessage } from '../../src/egress/bus.js';
import { replyActivity } from '../../src/egress/webchat.js';
import { channelStubFor, deliverIngress, ingressMessage } from '../../src/ingress/bus.js';
import { activityEnvelope } from '../../src/ingress/webchat.js';
import type { ChannelSession } from '../../src/session/channel-session.js';
import { setTelemetrySink } from '../../src/session/telemetry.js';
import { activate, seedPack, testEnv } from './runtime-fixtures.js';

beforeAll(() => {
  setTelemetrySink(() => {});
});

/** Sends one WebChat activity through the channel object and returns the bot activities it produced. */
function conversation(tenant: string, conv: string, user: string) {
  let n = 0;
  return async (activity: { text?: string; value?: unknown }): Promise<Record<string, unknown>[]> => {
    const id = `${conv}|${String(n++).padStart(7, '0')}`;
    const msg = ingressMessage(activityEnvelope(testEnv, tenant, conv, id, { type: 'message', from: { id: user }, ...activity }), { idempotencyKey: `webchat:${id}` });
    const sent: EgressMessage[] = [];
    await runInDurableObject(channelStubFor(testEnv, msg.envelope), (instance: ChannelSession) => {
      instance.egressSink = async (messages) => {
        sent.push(...messages);
      };
    });
    const result = await deliverIngress(testEnv, msg);
    expect(result.outcome.error_code).toBeUndefined();
    return sent.map((m) => replyActivity(m));
  };
}

describe('demo pack (packs/demo) over WebChat', () => {
  it('greets, waits for the name, routes the card submit on its action, and remembers the user', async () => {
    const digest = await seedPack('greentic.demo', '0.2.0', [demoFlow, toolsFlow]);
    await activate('demo-test', 'greentic.demo', digest);
    const say = conversation('demo-test', 'conv-demo', 'u-ada');

    expect((await say({ text: 'hello' })).map((a) => a.text)).toEqual(["Hi! I'm the Greentic demo bot. What's your name?"]);
    const offer = await say({ text: 'Ada' });
    expect(offer.map((a) => a.text)).toEqual(['Nice to meet you, Ada!']);
    expect(offer[0]!.attachments).toMatchObject([{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard' } }]);

    expect((await say({ text: 'just text' })).map((a) => a.text)).toEqual(["Please pick a drink with the card's buttons."]);
    const done = await say({ value: { action: 'coffee' } });
    expect(done.map((a) => a.text)).toEqual(['One coffee coming up. Enjoy!']);
    expect(done[0]!.suggestedActions).toMatchObject({ actions: [{ type: 'imBack', title: 'Order again', value: 'order again' }] });

    const back = await say({ text: 'order again' });
    expect(back.map((a) => a.text)).toEqual(['Welcome back, Ada!']);
    expect((await say({ value: { action: 'tea' } })).map((a) => a.text)).toEqual(['One tea coming up. Enjoy!']);

    // Another user of the same tenant starts from the greeting: state is kept per session.
    const other = conversation('demo-test', 'conv-other', 'u-bob');
    expect((await other({ text: 'hi' })).map((a) => a.text)).toEqual(["Hi! I'm the Greentic demo bot. What's your name?"]);
  });

  it('"tools" hands over to the component flow, which degrades to a message while components cannot be invoked', async () => {
    const digest = await seedPack('greentic.demo', '0.2.0-tools', [demoFlow, toolsFlow]);
    await activate('demo-tools', 'greentic.demo', digest);
    const say = conversation('demo-tools', 'conv-tools', 'u-1');
    expect((await say({ text: 'tools' })).map((a) => a.text)).toEqual(["The demo's TypeScript components are not available in this runtime yet."]);
    // The conversation is not stuck: the next message starts the greeting.
    expect((await say({ text: 'hello' })).map((a) => a.text)).toEqual(["Hi! I'm the Greentic demo bot. What's your name?"]);
  });
});
