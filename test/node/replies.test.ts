import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/flow/model.js';
import { ADAPTIVE_CARD_MIME, mapReplyOutput, type ReplyBody, replyOutput } from '../../src/session/replies.js';

const card = { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'Hi' }] };

function replies(output: JsonValue): ReplyBody[] {
  const mapped = mapReplyOutput(output);
  if (!mapped.ok) throw new Error(mapped.reason);
  return mapped.replies;
}

const cardOf = (r: ReplyBody) => r.attachments.find((a) => a.mime_type === ADAPTIVE_CARD_MIME)?.content;

describe('which output answers a turn (greentic-start collect_transcript_outputs)', () => {
  const transcript = [
    { nodeId: 'first_card', payload: { renderedCard: { ...card, id: 'first' } } as JsonValue },
    { nodeId: 'last_card', payload: { renderedCard: { ...card, id: 'last' } } as JsonValue },
    { nodeId: 'bookkeeping', payload: { found: true } as JsonValue },
  ];

  it('a turn that emitted answers with what it emitted', () => {
    expect(replyOutput({ output: [{ text: 'a' }, { text: 'b' }], transcript, emitted: 2 })).toEqual([{ text: 'a' }, { text: 'b' }]);
  });

  it('a turn that emitted nothing answers with its last envelope-like node output, not its last output', () => {
    expect(replyOutput({ output: { found: true }, transcript, emitted: 0 })).toEqual({ renderedCard: { ...card, id: 'last' } });
  });

  it('a navigation target that names a node picks that node output', () => {
    expect(replyOutput({ output: { found: true }, transcript, emitted: 0 }, 'first_card')).toEqual({
      renderedCard: { ...card, id: 'first' },
    });
  });

  it('with no envelope-like output, the last output answers', () => {
    expect(replyOutput({ output: { found: true }, transcript: [transcript[2]!], emitted: 0 })).toEqual({ found: true });
  });
});

describe('how an output becomes messages (greentic-start parse_envelopes)', () => {
  it('renderedCard (the adaptive-card component) is one card message without text', () => {
    const [r] = replies({ renderedCard: card, cardFeatures: {}, validationIssues: [] });
    expect(r!.text).toBeUndefined();
    expect(cardOf(r!)).toEqual(card);
  });

  it('messages of type adaptive_card and text become one message each, in order (telco-x)', () => {
    const out = replies({
      messages: [
        { type: 'adaptive_card', card },
        { type: 'text', text: 'done' },
      ],
      adaptive_card: { ignored: true },
    });
    expect(out.map((r) => [r.text, cardOf(r)])).toEqual([
      [undefined, card],
      ['done', undefined],
    ]);
  });

  it('an array, `events` and `message` are mapped item by item, duplicates dropped', () => {
    expect(replies([{ text: 'x' }, { text: 'x' }, 'y']).map((r) => r.text)).toEqual(['x', 'y']);
    expect(replies({ events: [{ text: 'e' }] }).map((r) => r.text)).toEqual(['e']);
    expect(replies({ message: { text: 'm' } }).map((r) => r.text)).toEqual(['m']);
  });

  it('text falls back through messages[].text, result.content[].text, structured_content, payload.text and text', () => {
    expect(replies({ messages: [], result: { content: [{ type: 'text', text: 'tool said' }] } })[0]!.text).toBe('tool said');
    expect(replies({ result: { structured_content: { n: 1 } } })[0]!.text).toBe('{"n":1}');
    expect(replies({ payload: { text: 'inner' } })[0]!.text).toBe('inner');
    expect(replies('bare')[0]!.text).toBe('bare');
  });

  it('Direct Line keys pass through: attachments in either form, channelData, suggestedActions, speak, inputHint', () => {
    const [r] = replies({
      text: 'pick',
      attachments: [{ contentType: ADAPTIVE_CARD_MIME, content: card }],
      channelData: { a: 1 },
      suggestedActions: { actions: [] },
      speak: 'pick',
      inputHint: 'expectingInput',
    });
    expect(cardOf(r!)).toEqual(card);
    expect(r!.extensions).toEqual({
      channel_data: { a: 1 },
      suggested_actions: { actions: [] },
      speak: 'pick',
      input_hint: 'expectingInput',
    });
    expect(replies({ entities: [{ type: 'x' }] })).toHaveLength(1);
  });

  it('text beside adaptive_card is one message with both (this runtime keeps its emit.response shape)', () => {
    const [r] = replies({ text: 'Nice', adaptive_card: card });
    expect(r!.text).toBe('Nice');
    expect(cardOf(r!)).toEqual(card);
  });

  it('an output that is no message is refused with the reason; null is a turn that says nothing', () => {
    const refused = mapReplyOutput({ error: { code: 'AC_SCHEMA_INVALID', message: 'asset not found' } });
    expect(refused).toEqual({ ok: false, reason: expect.stringContaining('{error}') });
    expect(mapReplyOutput(null)).toEqual({ ok: true, replies: [] });
  });

  it('an output that only emits events says nothing to the user and is no failure', () => {
    expect(mapReplyOutput({ emitted_events: [{ event_type: 'ticket.created' }] })).toEqual({ ok: true, replies: [] });
    expect(mapReplyOutput([{ emitted_events: [] }, 'done'])).toMatchObject({ ok: true, replies: [{ text: 'done' }] });
  });
});
