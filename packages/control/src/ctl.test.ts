import { describe, expect, it } from 'vitest';
import { type CtlInvocation, EXIT_BUSY, legacyWordsOf, parseCtlArgs } from './ctl.js';
import { EXIT_NO_DAEMON, EXIT_OK, EXIT_REFUSED, EXIT_USAGE } from './errors.js';
import type { RequestBody } from './protocol.js';

const split = (s: string) => s.split(' ').filter((w) => w.length > 0);
const reqs = (s: string): readonly RequestBody[] => {
  const r = parseCtlArgs(split(s));
  if (r.kind !== 'request') throw new Error(`${s}: ${JSON.stringify(r)}`);
  return r.requests;
};
const show = (table: string, relevance?: 0 | 1 | 2): RequestBody => ({
  op: 'show',
  args: relevance === undefined ? { table } : { table, relevance },
});
const set = (...argv: string[]): RequestBody => ({ op: 'set', args: { argv } });

describe('bmx7ctl front end: the reference syntax', () => {
  const cases: [string, RequestBody[]][] = [
    ['-c show=originators', [show('originators')]],
    ['-c show=originators /r=0', [show('originators', 0)]],
    ['-c show originators', [show('originators')]],
    ['-c list=links /r=1', [show('links', 1)]],
    ['-c -s links', [show('links')]],
    ['-c status links', [show('status'), show('links')]],
    ['-c tunnels /r=0', [show('tunnels', 0)]],
    ['-cd3', [{ op: 'subscribe', args: { level: 3 } }]],
    ['-c -d 8', [{ op: 'subscribe', args: { level: 8 } }]],
    ['-c debug=0', [{ op: 'subscribe', args: { level: 0 } }]],
    ['-c dev=eth2', [set('dev=eth2')]],
    ['-c dev=-eth2', [set('dev=-eth2')]],
    ['-c --dev eth2 /channel 6', [set('dev=eth2', '/channel=6')]],
    [
      '-c dev=eth2 /channel=6 txAvgInterval=- show=interfaces',
      [set('dev=eth2', '/channel=6', 'txAvgInterval=-'), show('interfaces')],
    ],
    ['-c tunOut=inet /network=0.0.0.0/0', [set('tunOut=inet', '/network=0.0.0.0/0')]],
    // children a daemon's plugins add, and values outside the reference's ranges, go to the
    // daemon as typed: it judges them with its own table
    ['-c tunOut=v6 /crypt=2 /pq=1', [set('tunOut=v6', '/crypt=2', '/pq=1')]],
    ['-c tunOut=v6 /hysteresis 500000', [set('tunOut=v6', '/hysteresis=500000')]],
    ['-c dev=eth1 /bogus=1', [set('dev=eth1', '/bogus=1')]],
    ['-c flushAll', [set('flushAll')]],
    ['-c wgDev=wg0 /port=51820', [set('wgDev=wg0', '/port=51820')]],
    ['-c parameters', [{ op: 'parameters', args: {} }]],
    ['-cp', [{ op: 'parameters', args: {} }]],
    ['-cv', [{ op: 'version', args: {} }]],
    ['-c help /r=0', [{ op: 'help', args: { verbose: false, relevance: 0 } }]],
    ['-c -H', [{ op: 'help', args: { verbose: true } }]],
    ['-c descriptions /type=16 /name=n1', [{ op: 'descriptions', args: { type: 16, name: 'n1' } }]],
    ['-c test dev=eth3', [{ op: 'set', args: { argv: ['dev=eth3'], test: true } }]],
    ['-c dev=eth2 test dev=eth3', [set('dev=eth2'), { op: 'set', args: { argv: ['dev=eth3'], test: true } }]],
    ['connect show=links', [show('links')]],
    ['--connect status', [show('status')]],
    ['dev=eth2', [set('dev=eth2')]],
    ['-d3', [{ op: 'subscribe', args: { level: 3 } }]],
  ];
  it.each(cases)('%s', (argv, want) => {
    expect(reqs(argv)).toEqual(want);
  });

  it('client settings before -c: -l, runtimeDir, loopInterval', () => {
    expect(parseCtlArgs(split('-lc status links'))).toEqual({
      kind: 'request',
      requests: [show('status'), show('links')],
      loop: 1000,
      json: false,
      follow: false,
      legacyWords: ['status', 'links'],
    });
    expect(parseCtlArgs(split('runtimeDir=/tmp/r loopMode loopInterval=500 -c status'))).toMatchObject({
      kind: 'request',
      runtimeDir: '/tmp/r',
      loop: 500,
    });
    expect(parseCtlArgs(split('-cd3'))).toMatchObject({ follow: true });
  });
});

describe('bmx7ctl front end: plain subcommands and client flags', () => {
  const cases: [string, RequestBody[]][] = [
    ['show originators', [show('originators')]],
    ['show originators /r=0', [show('originators', 0)]],
    ['show originators -r 0', [show('originators', 0)]],
    ['show originators --relevance=1', [show('originators', 1)]],
    ['list keys', [show('keys')]],
    ['show topology', [show('topology')]],
    ['show myPluginTable', [show('myPluginTable')]],
    ['originators', [show('originators')]],
    ['links /r=0', [show('links', 0)]],
    ['status interfaces', [show('status'), show('interfaces')]],
    ['parameters', [{ op: 'parameters', args: {} }]],
    ['version', [{ op: 'version', args: {} }]],
    ['get ogminterval', [{ op: 'get', args: { name: 'ogmInterval' } }]],
    ['get wgPort', [{ op: 'get', args: { name: 'wgPort' } }]],
    ['set dev=eth2', [set('dev=eth2')]],
    ['set dev=eth2 /channel=6 ogmInterval=3000', [set('dev=eth2', '/channel=6', 'ogmInterval=3000')]],
    ['set dev=-eth2', [set('dev=-eth2')]],
    ['test ogmInterval=3000', [{ op: 'set', args: { argv: ['ogmInterval=3000'], test: true } }]],
    ['log', [{ op: 'subscribe', args: { level: 3 } }]],
    ['log 8', [{ op: 'subscribe', args: { level: 8 } }]],
    ['help', [{ op: 'help', args: { verbose: false } }]],
    ['help verbose /r=0', [{ op: 'help', args: { verbose: true, relevance: 0 } }]],
    ['descriptions /name=n1', [{ op: 'descriptions', args: { name: 'n1' } }]],
  ];
  it.each(cases)('%s', (argv, want) => {
    expect(reqs(argv)).toEqual(want);
  });

  it('--json, --runtime-dir, --loop, --interval anywhere before the command', () => {
    expect(parseCtlArgs(split('--json show links'))).toMatchObject({ kind: 'request', json: true });
    expect(parseCtlArgs(split('--runtime-dir /tmp/x --json -c show=links'))).toMatchObject({
      runtimeDir: '/tmp/x',
      json: true,
    });
    expect(parseCtlArgs(split('--runtime-dir=/tmp/y status'))).toMatchObject({ runtimeDir: '/tmp/y' });
    expect(parseCtlArgs(split('--loop --interval 200 status'))).toMatchObject({ loop: 200 });
  });

  it('-l before the command loops, as --loop does and as the usage says ([-l] COMMAND)', () => {
    for (const argv of [
      '-l show status',
      '-l --json show status',
      '--json -l status',
      '-l --interval 300 links',
    ])
      expect(parseCtlArgs(split(argv)), argv).toMatchObject({ kind: 'request', loop: expect.any(Number) });
    expect(parseCtlArgs(split('-l show status'))).toEqual(parseCtlArgs(split('--loop show status')));
    expect(parseCtlArgs(split('-l --interval 300 links'))).toMatchObject({ loop: 300 });
    // with -c it stays the reference's -l, before -c
    expect(parseCtlArgs(split('-l -c status'))).toEqual(parseCtlArgs(split('-lc status')));
    // after the command it is no loop flag: the reference's loopMode, which only a start takes
    expect(parseCtlArgs(split('-c status -l'))).toMatchObject({ kind: 'usage-error' });
  });

  it('dump is passed through, help is local', () => {
    expect(parseCtlArgs(split('--json dump a.pcap b.pcap'))).toEqual({
      kind: 'dump',
      args: ['a.pcap', 'b.pcap'],
      json: true,
    });
    expect(parseCtlArgs(['--help']).kind).toBe('help');
    // the reference's tables bmx7d does not have are marked as the reference daemon's
    const help = parseCtlArgs(['--help']);
    expect(help.kind === 'help' && help.text).toMatch(
      /references, contents, cpu\s+\(reference daemon only\)/,
    );
    expect(parseCtlArgs(['-h']).kind).toBe('help');
    expect(parseCtlArgs(split('-c -h'))).toMatchObject({ kind: 'request', requests: [{ op: 'help' }] });
  });
});

describe('bmx7ctl front end: usage errors (exit status 2) name the problem', () => {
  const cases: [string, RegExp][] = [
    ['', /no command/],
    ['-c', /nothing to send/],
    ['-c ogmInterval=1', /ogmInterval: 1 is out of range 200\.\.60000/],
    ['set ogmInterval=abc', /ogmInterval: "abc" is not an integer/],
    ['set', /set: options missing/],
    ['-c nodeRsaKey=6', /nodeRsaKey: can only be set at start/],
    ['-c -Z', /-Z: unknown option/],
    ['show', /table name missing/],
    ['show links /r=5', /relevance must be 0, 1 or 2/],
    ['show links extra', /unexpected "extra"/],
    ['log 99', /level must be 0\.\.12/],
    ['-l -cd3', /cannot be combined/],
    ['hostname=x -c status', /connect: must appear earlier in the command sequence/],
    ['debug=3 -c status', /debug: only runtimeDir, loopMode \(-l\) and loopInterval may come before -c/],
    ['get', /give one option name/],
    ['dump', /file missing/],
    ['--interval abc status', /not a number/],
    ['--interval 5 status', /out of range/],
    ['--runtime-dir', /directory missing/],
    ['--legacy --json -c status', /--json needs bmx7d/],
    ['-c test', /nothing to check/],
    ['parameters x', /takes no arguments/],
  ];
  it.each(cases)('%j', (argv, message) => {
    const r: CtlInvocation = parseCtlArgs(split(argv));
    expect(r.kind).toBe('usage-error');
    if (r.kind === 'usage-error') expect(r.message).toMatch(message);
  });

  it('exit statuses: 0 ok, 1 refused, 2 usage, 3 no daemon, 4 busy', () => {
    expect([EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_NO_DAEMON, EXIT_BUSY]).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('bmx7ctl front end: the words for a reference daemon', () => {
  const words = (s: string) => {
    const r = parseCtlArgs(split(s));
    if (r.kind !== 'request') throw new Error(`${s}: ${JSON.stringify(r)}`);
    return r.legacyWords;
  };
  // after -c, the reference client forwards the rest of its command line as it is
  const verbatim: [string, string[]][] = [
    ['-c show=originators', ['show=originators']],
    ['-c show originators /r=0', ['show', 'originators', '/r=0']],
    ['-cd3', ['-d3']],
    ['-cp', ['-p']],
    ['-lc status links', ['status', 'links']],
    ['runtimeDir=/tmp/r -c dev=eth2 /channel=6', ['dev=eth2', '/channel=6']],
    ['connect ogmInterval=3000', ['ogmInterval=3000']],
    ['--runtime-dir /x -c txAvgInterval=-', ['txAvgInterval=-']],
    ['dev=-eth2', ['dev=-eth2']],
  ];
  it.each(verbatim)('%s', (argv, want) => {
    expect(words(argv)).toEqual(want);
  });

  // plain subcommands become the reference's options
  const translated: [string, string[] | undefined][] = [
    ['show originators', ['show=originators']],
    ['show links /r=0', ['show=links', '/r=0']],
    ['originators', ['show=originators']],
    ['parameters', ['parameters']],
    ['version', ['version']],
    ['set dev=eth2 /channel=6 ogmInterval=3000', ['dev=eth2', '/channel=6', 'ogmInterval=3000']],
    ['test ogmInterval=3000', ['test', 'ogmInterval=3000']],
    ['log 4', ['debug=4']],
    ['help verbose /r=0', ['verboseHelp', '/r=0']],
    ['descriptions /type=16 /name=n1', ['descriptions', '/type=16', '/name=n1']],
    ['get ogmInterval', undefined],
  ];
  it.each(translated)('%s', (argv, want) => {
    expect(words(argv)).toEqual(want);
  });

  it('legacyWordsOf maps every request the front end makes', () => {
    expect(legacyWordsOf([{ op: 'tables', args: {} }])).toBeUndefined();
    expect(legacyWordsOf([{ op: 'unsubscribe', args: {} }])).toEqual([]);
  });

  it('--legacy is a client flag', () => {
    expect(parseCtlArgs(split('--legacy -c show=status'))).toMatchObject({
      kind: 'request',
      legacy: true,
      legacyWords: ['show=status'],
    });
    expect(parseCtlArgs(split('show status'))).not.toHaveProperty('legacy');
  });
});
