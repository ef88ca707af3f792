import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';
import { createReferenceOptionTable } from './option-data.js';

const table = createReferenceOptionTable();

describe('parseConfig', () => {
  it('parses options, same-line and indented children, comments; sorts by order class', () => {
    const text = [
      '# bmx7d configuration',
      'dev=eth1 /channel=6   # wired',
      'dev=eth2',
      '    /rateMax=100M',
      '\t/linklayer=2',
      '',
      'ogmInterval=3000',
      'hostname=node-1',
      'nodeRsaKey=6 /keyPath=/etc/bmx7/rsa.der',
      'tunOut=inet',
      '  /network=0.0.0.0/0',
      'plugin=bmx7_tun.so',
    ].join('\n');
    const r = parseConfig(text, table);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.ops.map((o) => [o.option, o.value, o.line])).toEqual([
      ['plugin', 'bmx7_tun.so', 12],
      ['nodeRsaKey', 6, 9],
      ['hostname', 'node-1', 8],
      ['dev', 'eth1', 2],
      ['dev', 'eth2', 3],
      ['ogmInterval', 3000, 7],
      ['tunOut', 'inet', 10],
    ]);
    const eth2 = r.value.ops[4];
    expect(eth2?.children).toEqual([
      { option: 'rateMax', op: 'set', value: '100M' },
      { option: 'linklayer', op: 'set', value: 2 },
    ]);
  });

  it('accepts CRLF line ends and "name value" lines', () => {
    const r = parseConfig('dev eth0\r\nlinkWindow 64\r\n', table);
    expect(r.ok && r.value.ops.map((o) => o.value)).toEqual(['eth0', 64]);
  });

  const bad: [string, string, RegExp][] = [
    ['ogmInterval=1', 'out-of-range', /^line 1: ogmInterval: 1 is out of range/],
    ['\n\nbogus=1', 'unknown-option', /^line 3: bogus: unknown option/],
    ['dev=eth1 ogmInterval=3000', 'syntax', /^line 1: one option per line/],
    ['  /channel=6', 'child-without-parent', /^line 1: \/channel: child option without a parent/],
    ['/channel=6', 'syntax', /^line 1: child option \/channel=6 must be indented/],
    ['dev=eth1\n  ogmInterval=3000', 'syntax', /^line 2: indented line must continue/],
    ['show=links', 'runtime-only', /^line 1: show: is a query/],
    ['connect', 'not-in-config', /^line 1: connect: cannot be given in a config file/],
    ['test', 'not-in-config', /test/],
    ['dev=eth1\n   /channel=999', 'out-of-range', /^line 2: dev \/channel/],
  ];
  it.each(bad)('rejects %j (%s)', (text, code, message) => {
    const r = parseConfig(text, table);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(code);
    expect(r.error.message).toMatch(message);
  });
});
