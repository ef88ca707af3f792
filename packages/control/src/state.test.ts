import { describe, expect, it } from 'vitest';
import { parseArgs, splitWords } from './args.js';
import { parseConfig } from './config.js';
import { renderHelp } from './help.js';
import { createReferenceOptionTable } from './option-data.js';
import {
  applyOperations,
  type ConfigState,
  EMPTY_CONFIG,
  effectiveValue,
  effectiveValues,
  instancesOf,
  parameterEntries,
} from './state.js';
import { renderParameters } from './table.js';

const table = createReferenceOptionTable();
const apply = (state: ConfigState, s: string) => {
  const p = parseArgs(splitWords(s), table, { context: 'runtime' });
  if (!p.ok) throw new Error(p.error.message);
  return applyOperations(state, p.value.ops, table);
};
const must = (state: ConfigState, s: string): ConfigState => {
  const r = apply(state, s);
  if (!r.ok) throw new Error(r.error.message);
  return r.state;
};

describe('applyOperations', () => {
  it('sets, refines, resets and removes, reporting what changed', () => {
    let st = must(EMPTY_CONFIG, 'dev=eth1 /channel=6 dev=eth2 txAvgInterval=900');
    expect(parameterEntries(st, table).map((e) => [e.name, e.value])).toEqual([
      ['dev', 'eth1'],
      ['dev', 'eth2'],
      ['txAvgInterval', '900'],
    ]);
    st = must(st, 'dev=eth1 /rateMax=100M');
    expect(parameterEntries(st, table, 'dev')[0]?.children).toEqual([
      { name: 'rateMax', value: '100M' },
      { name: 'channel', value: '6', default: 255 },
    ]);
    const r = apply(st, 'dev=-eth2 txAvgInterval=-');
    expect(r.ok && r.changed).toEqual(['dev', 'txAvgInterval']);
    if (!r.ok) return;
    expect(effectiveValue(r.state, table.get('txAvgInterval') as never)).toBe(800);
    expect(parameterEntries(r.state, table).map((e) => e.value)).toEqual(['eth1']);
    const st2 = must(r.state, 'dev=eth1 /channel=-');
    expect(parameterEntries(st2, table)[0]?.children?.map((c) => c.name)).toEqual(['rateMax']);
  });

  it('leaves the input state untouched and refuses the whole batch on an error', () => {
    const st = must(EMPTY_CONFIG, 'dev=eth1');
    const r = apply(st, 'dev=eth2 dev=-eth9');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.message).toBe('dev=-eth9: no such dev');
      expect(r.error.option).toBe('dev');
    }
    expect([...(st.get('dev') as { instances: ReadonlyMap<string, unknown> }).instances.keys()]).toEqual([
      'eth1',
    ]);
  });

  it('new instances need their mandatory children; refining an existing one does not', () => {
    const r = apply(EMPTY_CONFIG, 'tunOut=inet');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toBe('tunOut=inet: /network is mandatory');
    const st = must(EMPTY_CONFIG, 'tunOut=inet /network=0.0.0.0/0');
    expect(apply(st, 'tunOut=inet /hysteresis=30').ok).toBe(true);
  });

  it('ignores queries and check-only operations', () => {
    const r = apply(EMPTY_CONFIG, 'status dev=eth1 test dev=eth2');
    expect(r.ok && parameterEntries(r.state, table).map((e) => e.value)).toEqual(['eth1']);
  });

  it('a config file names the line of a state error', () => {
    const p = parseConfig('dev=eth1\ntunIn=x\n', table);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    const r = applyOperations(EMPTY_CONFIG, p.value.ops, table);
    expect(!r.ok && r.error.message).toBe('line 2: tunIn=x: /network is mandatory');
  });

  it('parameters and get render as the reference does', () => {
    const st = must(EMPTY_CONFIG, 'txAvgInterval=900');
    expect(renderParameters(parameterEntries(st, table))).toBe(
      'PARAMETERS:\n txAvgInterval          900                  (800) \n',
    );
    expect(parameterEntries(EMPTY_CONFIG, table, 'ogmInterval')).toEqual([
      { name: 'ogmInterval', value: '6000', default: 6000 },
    ]);
  });
});

describe('renderHelp', () => {
  it('lists options with defaults and ranges, more at lower relevance', () => {
    const short = renderHelp(table);
    const all = renderHelp(table, { relevance: 0, verbose: true });
    expect(short).toContain('--dev, -i <interface name>');
    expect(short).not.toContain('--linkWindow');
    expect(all).toMatch(/--linkWindow <VAL> 1\.\.128\s+def: 48 {4}\s+range: \[ 1 \.\.\. 128 \]/);
    expect(all).toContain('  /channel, /c <VAL> 0..255');
    expect(all).toContain('\thello sequence number window');
    expect(all.length).toBeGreaterThan(short.length);
  });

  it("puts the program's own options in the usage line and explains each below it", () => {
    const text = renderHelp(table, {
      program: 'prog',
      programOptions: [{ synopsis: '--config FILE', text: 'options from FILE' }],
    });
    expect(text.split('\n').slice(1, 3)).toEqual([
      'Usage: prog [--config FILE] [LONGOPT=[-]VAL] | -[SHORTOPT[SHORTOPT...] [-]VAL] ...',
      '  --config FILE: options from FILE',
    ]);
    expect(renderHelp(table)).not.toContain('--config');
  });
});

describe('effective values', () => {
  it('fills defaults for singles and for instance children', () => {
    const st = must(EMPTY_CONFIG, 'ogmInterval=3000 dev=eth1 /channel=6 dev=eth2');
    const v = effectiveValues(st, table);
    expect(v.ogmInterval).toBe(3000);
    expect(v.linkWindow).toBe(48);
    expect(v.dev).toBeUndefined();
    expect(instancesOf(st, table.get('dev') as never)).toEqual([
      { key: 'eth1', children: { linklayer: 0, channel: 6, strictSignatures: 2, blockingSocket: 0 } },
      { key: 'eth2', children: { linklayer: 0, channel: 255, strictSignatures: 2, blockingSocket: 0 } },
    ]);
  });
});
