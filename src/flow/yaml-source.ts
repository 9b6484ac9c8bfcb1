/**
 * YAML text → JSON value plus a source map (JSON pointer → line/column), with hard limits so that
 * hostile documents (alias bombs, deep nesting, huge files) are rejected quickly instead of
 * exhausting the parser or memory. Used for `.ygtc` flows; pure TS (runs in Node and workerd).
 */

import type { Node as YamlNode } from 'yaml';
import { isAlias, isMap, isPair, isScalar, isSeq, Lexer, LineCounter, parseDocument } from 'yaml';
import { CodedError } from '../core/coded-error.js';
import type { Diagnostic, SourcePosition } from './errors.js';
import { dottedPath, escapePointerSegment } from './errors.js';
import type { JsonValue } from './model.js';

export interface YamlLimits {
  /** UTF-8 size of the whole document; checked before any parsing. */
  maxBytes: number;
  /** Nesting depth of collections (the document root is depth 1). */
  maxDepth: number;
  /** Number of alias references (`*name`) in the document. */
  maxAliases: number;
  /** JSON nodes materialised after alias expansion; bounds the memory an alias bomb can claim. */
  maxNodes: number;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = {
  maxBytes: 1024 * 1024,
  maxDepth: 64,
  maxAliases: 1000,
  maxNodes: 200_000,
};

interface Located {
  key?: SourcePosition;
  value: SourcePosition;
}

/** Positions of every authored node, addressed by JSON pointer. */
export class SourceMap {
  readonly #entries = new Map<string, Located>();

  constructor(readonly file: string) {}

  set(pointer: string, located: Located): void {
    this.#entries.set(pointer, located);
  }

  /**
   * Position of the node at `pointer`, or of its nearest authored ancestor when the node does not
   * exist in the text (a missing key, or a value reached through an alias). `key` prefers the
   * position of the mapping key over the value, which reads better for "node X is wrong".
   */
  locate(pointer: string, prefer: 'key' | 'value' = 'value'): SourcePosition {
    let p = pointer === '/' ? '' : pointer;
    for (;;) {
      const hit = this.#entries.get(p);
      if (hit) return prefer === 'key' && hit.key ? hit.key : hit.value;
      if (p === '') return { line: 1, col: 1 };
      p = p.slice(0, p.lastIndexOf('/'));
    }
  }

  has(pointer: string): boolean {
    return this.#entries.has(pointer);
  }
}

export interface ParsedYaml {
  /** Undefined when the text could not be parsed into a value at all. */
  value?: JsonValue;
  map: SourceMap;
  diagnostics: Diagnostic[];
}

export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** A document over one of the `YamlLimits`; reported as a `Yaml` diagnostic at the document start. */
class LimitExceeded extends CodedError<'Yaml'> {
  constructor(message: string) {
    super('Yaml', message);
  }
}

export function parseYamlSource(source: string, file: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): ParsedYaml {
  const map = new SourceMap(file);
  const diagnostics: Diagnostic[] = [];
  const yamlError = (message: string, pos: SourcePosition, pointer = ''): void => {
    diagnostics.push({ code: 'Yaml', severity: 'error', message, file, ...pos, pointer });
  };

  // Cheap bound first: no character is smaller than one byte, nor larger than three per UTF-16 unit.
  if (source.length > limits.maxBytes || (source.length * 3 > limits.maxBytes && utf8Length(source) > limits.maxBytes)) {
    yamlError(`document is larger than ${limits.maxBytes} bytes; refusing to parse it`, { line: 1, col: 1 });
    return { map, diagnostics };
  }

  const lineCounter = new LineCounter();
  const tooDeep = prescanDepth(source, limits.maxDepth);
  if (tooDeep) {
    lineCounter.addNewLine(0);
    for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) lineCounter.addNewLine(i + 1);
    yamlError(`nesting deeper than ${limits.maxDepth} levels`, toPosition(lineCounter, tooDeep.offset));
    return { map, diagnostics };
  }

  const doc = parseDocument(source, {
    lineCounter,
    keepSourceTokens: true,
    // yaml's own duplicate-key check compares every pair of keys (quadratic: 20k keys take ~10 s);
    // duplicates are detected below with a Set instead.
    uniqueKeys: false,
    prettyErrors: false,
    strict: true,
  });
  for (const e of doc.errors) {
    yamlError(yamlMessage(e.message), toPosition(lineCounter, e.pos[0]));
  }
  if (diagnostics.length > 0) return { map, diagnostics };

  const state = { nodes: 0, aliases: 0 };
  const anchors = new Map<string, YamlNode>();
  const inProgress = new Set<YamlNode>();

  const convert = (node: unknown, pointer: string, depth: number, record: boolean): JsonValue => {
    if (++state.nodes > limits.maxNodes) {
      throw new LimitExceeded(`document expands to more than ${limits.maxNodes} values (alias expansion?)`);
    }
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      if (++state.aliases > limits.maxAliases) {
        throw new LimitExceeded(`more than ${limits.maxAliases} aliases`);
      }
      const target = anchors.get(node.source);
      if (!target) {
        yamlError(`alias *${node.source} refers to no anchor defined before it`, rangePos(lineCounter, node), pointer);
        return null;
      }
      if (inProgress.has(target)) {
        yamlError(`alias *${node.source} refers to its own enclosing node`, rangePos(lineCounter, node), pointer);
        return null;
      }
      return convert(target, pointer, depth, false);
    }
    const yamlNode = node as YamlNode;
    if (record && yamlNode.anchor) anchors.set(yamlNode.anchor, yamlNode);
    if (isScalar(yamlNode)) return scalarToJson(yamlNode.value, pointer, rangePos(lineCounter, yamlNode));
    if (depth >= limits.maxDepth) {
      throw new LimitExceeded(`nesting deeper than ${limits.maxDepth} levels at ${dottedPath(pointer)}`);
    }
    inProgress.add(yamlNode);
    try {
      if (isSeq(yamlNode)) {
        const out: JsonValue[] = [];
        yamlNode.items.forEach((item, index) => {
          const childPointer = `${pointer}/${index}`;
          if (record && item && typeof item === 'object' && 'range' in item) {
            map.set(childPointer, { value: rangePos(lineCounter, item as YamlNode) });
          }
          out.push(convert(item, childPointer, depth + 1, record));
        });
        return out;
      }
      if (isMap(yamlNode)) {
        const out: { [key: string]: JsonValue } = {};
        const seen = new Set<string>();
        for (const pair of yamlNode.items) {
          if (!isPair(pair)) continue;
          const key = mapKey(pair.key);
          const keyPos = pair.key && typeof pair.key === 'object' ? rangePos(lineCounter, pair.key as YamlNode) : undefined;
          if (key === undefined) {
            yamlError('mapping keys must be strings or numbers', keyPos ?? rangePos(lineCounter, yamlNode), pointer);
            continue;
          }
          if (seen.has(key)) {
            if (record) yamlError(`duplicate mapping key "${key}"`, keyPos ?? rangePos(lineCounter, yamlNode), pointer);
            continue;
          }
          seen.add(key);
          const childPointer = `${pointer}/${escapePointerSegment(key)}`;
          if (record) {
            const valueNode = pair.value as YamlNode | null;
            const valuePos = valueNode?.range ? rangePos(lineCounter, valueNode) : keyPos;
            map.set(childPointer, { key: keyPos, value: valuePos ?? rangePos(lineCounter, yamlNode) });
          }
          // `__proto__` must become an own data property, never the object's prototype.
          Object.defineProperty(out, key, {
            value: convert(pair.value, childPointer, depth + 1, record),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return out;
      }
    } finally {
      inProgress.delete(yamlNode);
    }
    yamlError('unsupported YAML node', rangePos(lineCounter, yamlNode), pointer);
    return null;
  };

  const scalarToJson = (value: unknown, pointer: string, pos: SourcePosition): JsonValue => {
    if (value === null || value === undefined) return null;
    if (typeof value === 'string' || typeof value === 'boolean') return value;
    if (typeof value === 'number') {
      if (Number.isFinite(value)) return value;
      yamlError(`${String(value)} is not representable in JSON`, pos, pointer);
      return null;
    }
    if (typeof value === 'bigint') return Number(value);
    if (value instanceof Date) return value.toISOString();
    if (value instanceof Uint8Array) {
      yamlError('binary scalars are not supported', pos, pointer);
      return null;
    }
    return String(value);
  };

  let value: JsonValue;
  try {
    if (doc.contents) map.set('', { value: rangePos(lineCounter, doc.contents as YamlNode) });
    value = convert(doc.contents, '', 0, true);
  } catch (e) {
    if (e instanceof LimitExceeded) {
      yamlError(e.message, { line: 1, col: 1 });
      return { map, diagnostics };
    }
    throw e;
  }
  return { value, map, diagnostics };
}

function mapKey(key: unknown): string | undefined {
  if (key === null || key === undefined) return '';
  if (isScalar(key)) {
    const v = key.value;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    if (typeof v === 'bigint') return String(v);
    if (v === null) return '';
    return undefined;
  }
  return undefined;
}

function yamlMessage(message: string): string {
  // yaml appends a code-frame after a blank line; the position is reported separately.
  const first = message.split('\n')[0] ?? message;
  const trimmed = first.replace(/ at line \d+, column \d+:?$/, '');
  return trimmed;
}

function toPosition(lineCounter: LineCounter, offset: number): SourcePosition {
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, col: pos.col };
}

function rangePos(lineCounter: LineCounter, node: YamlNode): SourcePosition {
  return toPosition(lineCounter, node.range ? node.range[0] : 0);
}

/**
 * Conservative depth check on the token stream, before the composer runs: the composer recurses
 * per nesting level and exhausts memory on inputs like 100k nested `[`. Flow brackets and compact
 * indicators on one line (`- - - x`) are exact lower bounds of the real depth, so exceeding the
 * limit with them is definitive; indentation growth is only a loose bound (block scalars indent
 * too), hence the wider margin. The exact depth is enforced again while converting.
 */
function prescanDepth(source: string, maxDepth: number): { offset: number } | undefined {
  let flow = 0;
  let inlineIndicators = 0;
  let offset = 0;
  const indents: number[] = [];
  let atLineStart = true;
  for (const token of new Lexer().lex(source)) {
    const first = token.charAt(0);
    // Lexer control tokens (document/scalar markers) are not part of the text.
    if (first < ' ' && first !== '\n' && first !== '\r' && first !== '\t') continue;
    if (atLineStart) {
      atLineStart = false;
      const indent = first === ' ' ? token.length : 0;
      if (first !== '\n' && first !== '\r') {
        while (indents.length > 0 && (indents[indents.length - 1] ?? 0) >= indent) indents.pop();
        indents.push(indent);
        if (indents.length > maxDepth * 4) return { offset };
      }
    }
    if (token === '[' || token === '{') {
      if (++flow > maxDepth) return { offset };
    } else if (token === ']' || token === '}') {
      flow = Math.max(0, flow - 1);
    } else if (flow === 0 && (token === '-' || token === '?' || token === ':')) {
      if (++inlineIndicators > maxDepth) return { offset };
    } else if (first === '\n' || first === '\r') {
      inlineIndicators = 0;
      atLineStart = true;
    }
    offset += token.length;
  }
  return undefined;
}
