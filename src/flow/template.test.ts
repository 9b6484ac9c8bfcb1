import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from './model.js';
import { nowView, renderString, renderValue, type TemplateContext } from './template.js';
import { TemplateError } from './template-error.js';
import { TEMPLATE_LIMITS } from './template-limits.js';

function context(overrides: Partial<TemplateContext> = {}): TemplateContext {
  const entry: JsonValue = {
    text: 'hi <b>&"you"\'',
    user_id: 42,
    enabled: true,
    ratio: 0.25,
    tiny: 0.000001,
    profile: { name: 'Ann', tags: ['x', 'y'] },
    attachments: [
      { name: 'd.pdf', text: 'hello world' },
      { name: 'i.png', url: 'artifact://i' },
    ],
    'odd key': 'odd',
    empty_list: [],
    empty_obj: {},
    zero: 0,
    nothing: null,
  };
  return {
    entry,
    in: entry,
    prev: { event: { event_type: 'greeting' }, items: [{ n: 1 }, { n: 2 }, { n: 3 }] },
    node: { start: { user: { id: 7 } } },
    state: {},
    vars: { lang: 'en' },
    now: nowView(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678))),
    ...overrides,
  };
}

function render(template: string, ctx: TemplateContext = context(), warnings?: string[]): JsonValue {
  return renderValue(template, ctx, warnings);
}

describe('typed insertion of an exact {{ path }}', () => {
  it('keeps objects, numbers and booleans as JSON values', () => {
    expect(render('{{entry.profile}}')).toEqual({ name: 'Ann', tags: ['x', 'y'] });
    expect(render('{{entry.user_id}}')).toBe(42);
    expect(render('{{ entry.enabled }}')).toBe(true);
    expect(render('{{entry.nothing}}')).toBeNull();
    expect(render('{{node.start.user.id}}')).toBe(7);
  });

  it('returns a copy, so later changes to the context do not leak into the rendered input', () => {
    const ctx = context();
    const rendered = render('{{entry.profile}}', ctx) as { name: string };
    rendered.name = 'changed';
    expect((ctx.entry as { profile: { name: string } }).profile.name).toBe('Ann');
  });

  it('renders a missing path as "" and records a warning', () => {
    const warnings: string[] = [];
    expect(render('{{entry.input.metadata.provider}}', context(), warnings)).toBe('');
    expect(warnings).toEqual(['template expression resolved to empty (path not found): entry.input.metadata.provider']);
  });

  it('resolves array indexes and quoted keys', () => {
    expect(render('{{entry.attachments[0].text}}')).toBe('hello world');
    expect(render('{{in.attachments[1].url}}')).toBe('artifact://i');
    expect(render(`{{entry["odd key"]}}`)).toBe('odd');
    expect(render(`{{entry['odd key']}}`)).toBe('odd');
    expect(render('{{entry.attachments[9].text}}')).toBe('');
  });

  it('accepts a leading this., surrounding whitespace and triple braces', () => {
    expect(render('{{this.entry.user_id}}')).toBe(42);
    expect(render('  {{entry.user_id}}\n')).toBe(42);
    expect(render('{{{entry.profile}}}')).toEqual({ name: 'Ann', tags: ['x', 'y'] });
  });

  it('exposes now as iso, epoch_ms and date', () => {
    expect(render('{{now}}')).toEqual({
      iso: '2026-01-02T03:04:05.678Z',
      epoch_ms: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
      date: '2026-01-02',
    });
    expect(render('{{now.epoch_ms}}')).toBeTypeOf('number');
  });
});

describe('mixed strings render through Handlebars', () => {
  it('renders values into surrounding text as a string', () => {
    expect(render('https://x/{{entry.user_id}}')).toBe('https://x/42');
    expect(render('Received: {{in.text}} → {{prev.event.event_type}}')).toBe('Received: hi <b>&"you"\' → greeting');
  });

  it('does not HTML-escape <, &, >, ", \' with double or triple braces', () => {
    expect(render('[{{entry.text}}]')).toBe('[hi <b>&"you"\']');
    expect(render('[{{{entry.text}}}]')).toBe('[hi <b>&"you"\']');
  });

  it('prints objects as [object], arrays as [a, b] and null as nothing, like handlebars-rs', () => {
    expect(render('p={{entry.profile}}')).toBe('p=[object]');
    expect(render('t={{entry.profile.tags}}')).toBe('t=[x, y]');
    expect(render('n={{entry.nothing}}.')).toBe('n=.');
    expect(render('b={{entry.enabled}} r={{entry.ratio}} t={{entry.tiny}}')).toBe('b=true r=0.25 t=1e-6');
  });

  it('renders a missing value as empty with a warning', () => {
    const warnings: string[] = [];
    expect(render('hello {{entry.nope}}!', context(), warnings)).toBe('hello !');
    expect(warnings).toEqual(['template value not found: entry.nope']);
  });

  it('renders several expressions in one string even when it starts and ends with braces', () => {
    expect(render('{{entry.profile.name}} {{vars.lang}}')).toBe('Ann en');
  });

  it('leaves strings without {{ untouched, including path-looking text', () => {
    expect(render('in.q_location')).toBe('in.q_location');
    expect(render('/entry/user_id')).toBe('/entry/user_id');
    expect(render('{ not a template }')).toBe('{ not a template }');
  });

  it('walks objects and arrays, rendering only strings', () => {
    const mapping: JsonValue = {
      message: '{{in}}',
      list: ['{{entry.user_id}}', 'id={{entry.user_id}}', 3, false, null],
      nested: { q: '{{entry.attachments[0].name}}', aqi: 'no' },
    };
    const out = renderValue(mapping, context()) as Record<string, JsonValue>;
    expect(out.list).toEqual([42, 'id=42', 3, false, null]);
    expect(out.nested).toEqual({ q: 'd.pdf', aqi: 'no' });
    expect((out.message as Record<string, JsonValue>).user_id).toBe(42);
  });

  it('keeps a "__proto__" key as data instead of changing the prototype', () => {
    const mapping = JSON.parse('{"__proto__": {"x": "{{entry.user_id}}"}}') as JsonValue;
    const out = renderValue(mapping, context()) as Record<string, JsonValue>;
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
});

describe('Handlebars blocks and helpers', () => {
  it('#each over an array exposes this, @index, @first and @last', () => {
    expect(render('{{#each prev.items}}{{@index}}:{{this.n}}{{#if @first}}(first){{/if}}{{#if @last}}(last){{/if}};{{/each}}')).toBe(
      '0:1(first);1:2;2:3(last);',
    );
    expect(render('{{#each entry.profile.tags}}[{{this}}]{{/each}}')).toBe('[x][y]');
  });

  it('#each over an object exposes @key', () => {
    expect(render('{{#each entry.profile}}{{@key}}={{this}};{{/each}}')).toBe('name=Ann;tags=[x, y];');
  });

  it('#each supports block params and renders else for empty or missing lists', () => {
    expect(render('{{#each prev.items as |item i|}}{{i}}-{{item.n}} {{/each}}')).toBe('0-1 1-2 2-3 ');
    expect(render('{{#each entry.empty_list}}x{{else}}none{{/each}}')).toBe('none');
    expect(render('{{#each entry.missing}}x{{^}}none{{/each}}')).toBe('none');
  });

  it('../ reaches the enclosing scope inside #each and #with', () => {
    expect(render('{{#each prev.items}}{{../vars.lang}}{{n}} {{/each}}')).toBe('en1 en2 en3 ');
    expect(render('{{#with entry.profile}}{{name}}/{{../vars.lang}}{{/with}}')).toBe('Ann/en');
    expect(render('{{#each prev.items}}{{#each ../entry.profile.tags}}{{../n}}{{this}} {{/each}}{{/each}}')).toBe('1x 1y 2x 2y 3x 3y ');
  });

  it('#if and #unless follow handlebars-rs truthiness', () => {
    expect(render('{{#if entry.enabled}}on{{else}}off{{/if}}')).toBe('on');
    expect(render('{{#if entry.empty_list}}yes{{else}}no{{/if}}')).toBe('no');
    expect(render('{{#if entry.empty_obj}}yes{{else}}no{{/if}}')).toBe('no');
    expect(render('{{#if entry.zero}}yes{{else}}no{{/if}}')).toBe('no');
    expect(render('{{#if entry.zero includeZero=true}}yes{{else}}no{{/if}}')).toBe('yes');
    expect(render('{{#unless entry.nothing}}empty{{/unless}}')).toBe('empty');
    expect(render('{{#if entry.nope}}a{{else if entry.enabled}}b{{else}}c{{/if}}')).toBe('b');
  });

  it('#with changes the context and falls back to else', () => {
    expect(render('{{#with node.start.user}}id={{id}}{{/with}}')).toBe('id=7');
    expect(render('{{#with entry.missing}}x{{else}}no user{{/with}}')).toBe('no user');
  });

  it('lookup reads a key or an index chosen at render time', () => {
    expect(render('{{lookup entry.profile "name"}}')).toBe('Ann');
    expect(render('x{{lookup entry.attachments 1}}')).toBe('x[object]');
    expect(render('{{#each entry.profile.tags}}{{lookup ../entry.attachments @index}}{{/each}}!')).toBe('[object][object]!');
    expect(render('v={{lookup vars "lang"}}')).toBe('v=en');
  });

  it('tries an exact {{…}} as a path first, so keys with spaces resolve as upstream', () => {
    expect(render('{{entry.odd key}}')).toBe('odd');
    expect(render('{{lookup entry.profile "name"}}')).toBe('Ann');
  });

  it('supports the handlebars-rs comparison helpers in subexpressions and blocks', () => {
    expect(render('{{#if (eq vars.lang "en")}}English{{/if}}')).toBe('English');
    expect(render('{{#if (gt entry.user_id 40)}}big{{/if}}')).toBe('big');
    expect(render('{{#if (and entry.enabled (not entry.nothing))}}ok{{/if}}')).toBe('ok');
    expect(render('{{#lt entry.user_id "50"}}lower{{else}}higher{{/lt}}')).toBe('lower');
    expect(render('n={{len entry.attachments}} s={{len "é"}}')).toBe('n=2 s=2');
  });

  it('drops comments and honours ~ whitespace control', () => {
    expect(render('a {{! note }} b')).toBe('a  b');
    expect(render('a {{!-- note --}}b')).toBe('a b');
    expect(render('a   {{~vars.lang~}}   b')).toBe('aenb');
  });

  it('renders raw blocks verbatim', () => {
    expect(render('{{{{raw}}}}{{vars.lang}}{{{{/raw}}}} {{vars.lang}}')).toBe('{{vars.lang}} en');
  });

  it('accepts numeric path segments as handlebars-rs does', () => {
    expect(render('first={{entry.attachments.0.name}}')).toBe('first=d.pdf');
  });

  it('renders unknown helpers and partials as empty with a warning instead of failing', () => {
    const warnings: string[] = [];
    expect(render('a{{upper vars.lang}}b{{> footer}}c', context(), warnings)).toBe('abc');
    expect(warnings).toEqual([
      'template helper "upper" is not defined; rendered empty',
      'partial footer is not registered; rendered empty',
    ]);
  });

  it('renderString renders with Handlebars only, against any JSON object', () => {
    expect(renderString('{{a}}', { a: { b: 1 } })).toBe('[object]');
    expect(renderString('plain', {})).toBe('plain');
  });
});

describe('pointer-allowed spots', () => {
  it('resolves a /pointer string when allowed, keeping the JSON type', () => {
    expect(renderValue('/entry/attachments/1/url', context(), [], { allowPointer: true })).toBe('artifact://i');
    expect(renderValue('/prev/items/0', context(), [], { allowPointer: true })).toEqual({ n: 1 });
  });

  it('fails with PointerNotFound when the pointer does not resolve', () => {
    expect(() => renderValue({ v: '/entry/nope' }, context(), [], { allowPointer: true })).toThrow(
      expect.objectContaining({ code: 'PointerNotFound' }),
    );
  });
});

describe('errors and limits', () => {
  it('throws TemplateSyntax for a template that does not parse', () => {
    let error: unknown;
    try {
      render('Hello {{#if in.x}}unclosed');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as TemplateError).code).toBe('TemplateSyntax');
    expect((error as TemplateError).message).toMatch(/template syntax error/);
  });

  it('keeps failing the same way for a cached broken template', () => {
    expect(() => render('x {{#each}}')).toThrow(TemplateError);
    expect(() => render('x {{#each}}')).toThrow(TemplateError);
  });

  it('stops output that grows beyond the size cap', () => {
    const big = 'x'.repeat(2048);
    const items = Array.from({ length: 1024 }, () => big);
    expect(() => render('{{#each prev.items}}{{this}}{{/each}}!', context({ prev: { items } }))).toThrow(
      expect.objectContaining({ code: 'TemplateLimit' }),
    );
  });

  it('stops nested #each loops that multiply beyond the step budget', () => {
    const xs = Array.from({ length: 200 }, (_, i) => i);
    const template = '{{#each prev.xs}}{{#each ../prev.xs}}{{#each ../../prev.xs}}{{/each}}{{/each}}{{/each}}.';
    expect(() => render(template, context({ prev: { xs } }))).toThrow(expect.objectContaining({ code: 'TemplateLimit' }));
  });

  it('stops block nesting beyond the depth cap', () => {
    const depth = TEMPLATE_LIMITS.maxNesting + 5;
    const template = `${'{{#if vars.lang}}'.repeat(depth)}x${'{{/if}}'.repeat(depth)}.`;
    expect(() => render(template)).toThrow(expect.objectContaining({ code: 'TemplateLimit' }));
  });

  it('caps the number of warnings a render records', () => {
    const warnings: string[] = [];
    const items = Array.from({ length: 500 }, () => ({}));
    render('{{#each prev.items}}{{missing}}{{/each}}.', context({ prev: { items } }), warnings);
    expect(warnings.length).toBe(TEMPLATE_LIMITS.maxWarnings + 1);
  });

  it('throws nothing but TemplateError for arbitrary template strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc
            .array(
              fc.constantFrom(
                '{{',
                '}}',
                '{{#each prev.items}}',
                '{{/each}}',
                '{{#if',
                '}}x',
                '{{else}}',
                '../',
                '@index',
                'this',
                '~',
                '{{{',
                '}}}',
                '"',
                '(',
                ')',
                'lookup',
                ' ',
                'a',
                '.0',
                '[0]',
              ),
            )
            .map((parts) => parts.join('')),
        ),
        (template) => {
          try {
            const out = renderValue(template, context(), []);
            return typeof out !== 'undefined';
          } catch (err) {
            return err instanceof TemplateError;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('throws nothing but TemplateError for arbitrary JSON mappings and contexts', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (mapping, entry) => {
        try {
          renderValue(mapping as JsonValue, context({ entry: entry as JsonValue, in: entry as JsonValue }), []);
          return true;
        } catch (err) {
          return err instanceof TemplateError;
        }
      }),
      { numRuns: 300 },
    );
  });
});
