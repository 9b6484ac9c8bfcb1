/**
 * Runtime templating and routing-condition cost per node step. The executor budget is < 20 µs of
 * engine overhead per step; rendering a typical input mapping and evaluating its routing
 * conditions must stay a small part of that. Baseline: a JSON round-trip copy of the same mapping
 * (the least any renderer that returns a fresh value must do).
 */

import { evaluateCondition } from '../src/flow/condition.js';
import type { JsonObject, JsonValue } from '../src/flow/model.js';
import { nowView, renderValue, type TemplateContext } from '../src/flow/template.js';

const entry: JsonValue = {
  text: 'what is the weather in Paris?',
  input: { metadata: { q: 'Paris', action: 'submit' }, text: 'hi' },
  attachments: [{ name: 'a.pdf', url: 'artifact://a' }],
  user: { id: 'u-1', name: 'Ann' },
};
const ctx: TemplateContext = {
  entry,
  in: entry,
  prev: { event: { event_type: 'greeting' }, items: [{ n: 1 }, { n: 2 }, { n: 3 }] },
  node: { lookup: { result: { temp: 21, unit: 'C' } } },
  state: {},
  vars: { lang: 'en' },
  now: nowView(new Date()),
};
const mapping: JsonValue = {
  component: 'weatherapi_current',
  operation: 'get_weather',
  input: { q: '{{in.input.metadata.q}}', aqi: 'no', user: '{{entry.user}}' },
  text: 'Hi {{entry.user.name}}, it is {{node.lookup.result.temp}}°{{node.lookup.result.unit}} ({{vars.lang}})',
  items: '{{#each prev.items}}{{n}}{{#unless @last}},{{/unless}}{{/each}}',
  card: { title: 'Weather', body: ['{{prev.event.event_type}}', 'static text'] },
};
const routing: JsonObject = { ...(ctx as unknown as JsonObject), ok: true, status: 'done', score: 0.7 };
const conditions = ['response.action == "submit"', 'score >= 0.5', 'status != "failed"', 'entry.text contains "paris"'];

function measure(_name: string, iterations: number, fn: () => void): number {
  for (let i = 0; i < Math.min(iterations, 2000); i++) fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return ((performance.now() - start) * 1000) / iterations;
}

const N = 50_000;
const baseline = measure('copy', N, () => {
  JSON.parse(JSON.stringify(mapping));
});
const render = measure('render', N, () => {
  renderValue(mapping, ctx, []);
});
const cond = measure('conditions', N, () => {
  for (const c of conditions) evaluateCondition(c, routing);
});

const rows = [
  {
    bench: 'flow-template',
    metric: 'render_node_mapping',
    value: render,
    unit: 'us',
    baseline,
    ratio: render / baseline,
    target: '< 20 us engine overhead per node step',
  },
  {
    bench: 'flow-template',
    metric: 'evaluate_4_conditions',
    value: cond,
    unit: 'us',
    baseline,
    ratio: cond / baseline,
    target: '< 20 us engine overhead per node step',
  },
];
console.log('metric                   value (µs)  baseline copy (µs)  ratio');
for (const r of rows) {
  console.log(
    `${r.metric.padEnd(24)} ${r.value.toFixed(3).padStart(10)}  ${r.baseline.toFixed(3).padStart(18)}  ${r.ratio.toFixed(2).padStart(5)}`,
  );
}
console.log(
  JSON.stringify(
    rows.map((r) => ({
      ...r,
      value: Number(r.value.toFixed(3)),
      baseline: Number(r.baseline.toFixed(3)),
      ratio: Number(r.ratio.toFixed(3)),
    })),
  ),
);
