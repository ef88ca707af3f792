/**
 * The configuration file: the same options and syntax as the command line, one option per line.
 *
 *   # a comment (a '#' that starts a word starts a comment, to the end of the line)
 *   dev=eth1 /channel=6            children on the same line ...
 *   dev=eth2
 *       /rateMax=100M              ... or on following indented lines that start with '/'
 *   nodeRsaKey=6 /keyPath=/etc/bmx7/rsa.der
 *   tunOut=inet /network=0.0.0.0/0
 *
 * Only options a config file may hold are accepted (those `parameters` lists; not queries,
 * actions or client settings). Order classes do not apply: the operations come back sorted by
 * order class, in file order within a class. Errors name the line and the option.
 */

import { type Operation, type ParseResult, parseWords, type Word } from './args.js';
import { OptionError } from './errors.js';
import type { OptionTable } from './options.js';

/** Config files larger than this are rejected before parsing (a config is a few KiB). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export function parseConfig(text: string, table: OptionTable): ParseResult {
  if (text.length > MAX_CONFIG_BYTES) {
    return {
      ok: false,
      error: new OptionError('syntax', `config file larger than ${MAX_CONFIG_BYTES} bytes`),
    };
  }
  const words: Word[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const raw = lines[n] as string;
    const body = stripComment(raw);
    if (body.trim().length === 0) continue;
    const indented = /^\s/.test(body);
    const lineWords = body.trim().split(/\s+/);
    const first = lineWords[0] as string;
    if (indented && !first.startsWith('/')) {
      return fail(
        lineNo,
        `indented line must continue the previous option with /child=value, found ${JSON.stringify(first)}`,
      );
    }
    if (!indented && first.startsWith('/')) {
      return fail(lineNo, `child option ${first} must be indented under its option`);
    }
    for (const text of lineWords) words.push({ text, line: lineNo });
  }
  const parsed = parseWords(words, table, { context: 'config' });
  if (!parsed.ok) return parsed;
  const perLine = new Map<number, Operation>();
  for (const op of parsed.value.ops) {
    if (op.line === undefined) continue;
    const other = perLine.get(op.line);
    if (other !== undefined) {
      return {
        ok: false,
        error: new OptionError(
          'syntax',
          `line ${op.line}: one option per line (${other.option} and ${op.option})`,
          {
            option: op.option,
            line: op.line,
          },
        ),
      };
    }
    perLine.set(op.line, op);
  }
  const orderOf = (op: Operation): number => table.get(op.option)?.order ?? 9;
  const ops = parsed.value.ops
    .map((op, idx) => ({ op, idx }))
    .sort((a, b) => orderOf(a.op) - orderOf(b.op) || a.idx - b.idx)
    .map((x) => x.op);
  return { ok: true, value: { ops, test: false } };
}

function stripComment(line: string): string {
  const m = /(^|\s)#/.exec(line);
  return m === null ? line : line.slice(0, m.index);
}

function fail(line: number, message: string): ParseResult {
  return { ok: false, error: new OptionError('syntax', `line ${line}: ${message}`, { line }) };
}
