import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseArgs } from './args.js';
import { parseConfig } from './config.js';
import { parseCtlArgs } from './ctl.js';
import { OptionError } from './errors.js';
import { createReferenceOptionTable } from './option-data.js';
import { applyOperations, EMPTY_CONFIG } from './state.js';

const table = createReferenceOptionTable();

// Words built from pieces of real syntax, so the parsers reach deep states, plus arbitrary strings.
const piece = fc.constantFrom(
  'dev',
  'tunOut',
  'show',
  'status',
  'ogmInterval',
  'c',
  'd',
  'l',
  'r',
  'channel',
  'network',
  'test',
  'connect',
  'runtimeDir',
  'hostname',
  '=',
  '-',
  '--',
  '/',
  '#',
  '3',
  '6000',
  'eth1',
  '10.0.0.0/8',
  'fd70::/16',
  'x',
);
const word = fc.oneof(
  fc.array(piece, { minLength: 1, maxLength: 4 }).map((p) => p.join('')),
  fc.string({ maxLength: 12 }),
);
const argv = fc.array(word, { maxLength: 12 });

describe('parsers never throw on any input', () => {
  it('parseArgs, in every context, returns a result; errors are OptionErrors naming a reason', () => {
    fc.assert(
      fc.property(
        argv,
        fc.constantFrom('init', 'runtime', 'config') as fc.Arbitrary<'init' | 'runtime' | 'config'>,
        fc.boolean(),
        (words, context, pass) => {
          const r = parseArgs(words, table, { context, unknown: pass ? 'passthrough' : 'error' });
          if (!r.ok) {
            expect(r.error).toBeInstanceOf(OptionError);
            expect(r.error.message.length).toBeGreaterThan(0);
          } else {
            const s = applyOperations(EMPTY_CONFIG, r.value.ops, table);
            if (!s.ok) expect(s.error).toBeInstanceOf(OptionError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('parseConfig returns a result for any text', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('', '  ', '\t'), argv), { maxLength: 8 }), (lines) => {
        const text = lines.map(([indent, ws]) => indent + ws.join(' ')).join('\n');
        const r = parseConfig(text, table);
        if (!r.ok) expect(r.error.message).toMatch(/^line \d+: |config file/);
      }),
      { numRuns: 1000 },
    );
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => void parseConfig(text, table)));
  });

  it('parseCtlArgs always gives one of its four kinds', () => {
    fc.assert(
      fc.property(argv, (words) => {
        const r = parseCtlArgs(words);
        expect(['request', 'dump', 'help', 'usage-error']).toContain(r.kind);
        if (r.kind === 'request') expect(r.requests.length).toBeGreaterThan(0);
        if (r.kind === 'usage-error') expect(r.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });
});
