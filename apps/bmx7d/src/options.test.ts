import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OptionError, parseCtlArgs, requestsFromWords } from '@bmx7/control';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  DEFAULT_DEBUG,
  DEFAULT_KEY_PATH,
  DEFAULT_RUNTIME_DIR,
  daemonOptionTable,
  parseBandwidth,
  parseStartArgs,
  settingsOf,
} from './options.js';
import { daemonArgv } from './test/helpers.js';

const settings = (argv: string[], files: Record<string, string> = {}) => {
  const s = parseStartArgs(argv, (p) => {
    const f = files[p];
    if (f === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return f;
  });
  return settingsOf(s.state, { hostname: 'host', pathKind: () => 'dir' });
};

const optionError = (fn: () => unknown): OptionError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof OptionError) return e;
    throw e;
  }
  throw new Error('no OptionError');
};

describe('bmx7d options', () => {
  it('reference names and syntax, bmx7d default paths', () => {
    const s = settings([
      'runtimeDir=/tmp/r',
      'debug=4',
      'nodeRsaKey=7',
      '/keyPath=/k/rsa.der',
      'hostname=alpha',
      'dev=eth1',
      'dev=wlan0',
      '/linklayer=2',
      'dev=eth2',
      '/rateMax=100M',
      'ogmInterval=3000',
      'linkWindow=32',
      'trustedNodesDir=/t',
    ]);
    expect(s).toMatchObject({
      runtimeDir: '/tmp/r',
      debug: 4,
      keyType: 7,
      keyPath: '/k/rsa.der',
      table: 70,
      rulePref: 70,
    });
    expect(s.devs).toEqual([
      { name: 'eth1', rateMax: 1_000_000_000n, channel: 0 },
      { name: 'wlan0', rateMax: 56_000_000n, channel: 255 },
      { name: 'eth2', rateMax: 100_000_000n, channel: 0 },
    ]);
    expect(s.engine).toMatchObject({
      hostname: 'alpha',
      ogmInterval: 3000,
      linkWindow: 32,
      txAvgInterval: 800,
    });
    expect(settings(['pathHopPenalty=5', 'metricAlgo=16']).engine.metric).toMatchObject({
      hopPenalty: 5,
      algo: 16,
      maxHops: 63,
    });
    // the directory is the daemon's to read and follow (trust-watch.ts); publishing defaults to on
    expect(s.trustedNodesDir).toBe('/t');
    expect(s.engine.publishSupportedNodes).toBe(true);
    const d = settings(['dev=eth1']);
    expect(d).toMatchObject({ runtimeDir: DEFAULT_RUNTIME_DIR, keyPath: DEFAULT_KEY_PATH, debug: 0 });
    // the table gives bmx7d's real default (help, man page, parameters), the reference's -1 left to bmx7ctl
    expect(daemonOptionTable().get('debug')?.default).toBe(DEFAULT_DEBUG);
    expect(settings(['debug=-', 'dev=eth1']).debug).toBe(0);
    // debug=N through the control interface stays a log subscription, with the daemon's table too
    for (const words of [['-d3'], ['debug=3']])
      expect(requestsFromWords(words, daemonOptionTable())).toEqual({
        ok: true,
        requests: [{ op: 'subscribe', args: { level: 3 } }],
      });
    expect(parseCtlArgs(['-cd3'], daemonOptionTable())).toMatchObject({
      kind: 'request',
      follow: true,
      requests: [{ op: 'subscribe', args: { level: 3 } }],
    });
    expect(d.engine.hostname).toBe('host');
    expect(parseBandwidth('2G')).toBe(2_000_000_000n);
  });

  it('a config file, with the command line on top; ipVersion children set table and preference', () => {
    const s = settings(['--config', '/etc/bmx7d.conf', 'ogmInterval=4000'], {
      '/etc/bmx7d.conf':
        'dev=eth1\n  /channel=0\nogmInterval=5000\nipVersion=6 /tableHnas=80 /tablePrefHnas=81\n',
    });
    expect(s).toMatchObject({ table: 80, rulePref: 81 });
    expect(s.engine.ogmInterval).toBe(4000);
    expect(s.devs.map((x) => x.name)).toEqual(['eth1']);
  });

  it('setCredits sets credit limits and preferences by section; none means the defaults', () => {
    const s = settings(['setCredits=nA', '/maxNodes=40', 'setCredits=tQ', '/preference=4500']);
    expect(s.engine.credits).toEqual({ nA: { maxNodes: 40 }, tQ: { preference: 4500 } });
    expect(settings([]).engine.credits).toEqual({});
    const e = optionError(() => settings(['setCredits=xQ', '/maxNodes=3']));
    expect(e.option).toBe('setCredits');
    expect(e.message).toMatch(/unknown section "xQ"/);
    expect(optionError(() => settings(['setCredits=nA', '/maxNodes=0'])).option).toBe('setCredits');
  });

  it('trust: trustedNodesDir names a directory (a missing one is created later), publishSupportedNodes, setTrustedNode at start', () => {
    const id = 'AB'.repeat(28);
    const at = (argv: string[], kind: 'dir' | 'missing' | 'other') =>
      settingsOf(parseStartArgs(argv).state, { hostname: 'h', pathKind: () => kind });
    expect(at(['trustedNodesDir=/t'], 'missing').trustedNodesDir).toBe('/t');
    expect(at([], 'other').trustedNodesDir).toBeUndefined();
    const e = optionError(() => at(['trustedNodesDir=/etc/passwd'], 'other'));
    expect(e.option).toBe('trustedNodesDir');
    expect(e.message).toBe('trustedNodesDir: /etc/passwd is not a directory');
    expect(at(['publishSupportedNodes=0'], 'dir').engine.publishSupportedNodes).toBe(false);
    // setTrustedNode is carried out at start, never kept in the configuration
    const start = parseStartArgs([`setTrustedNode=${id}`, '/trust=3', `setTrustedNode=-${id.toLowerCase()}`]);
    expect(start.actions.map((op) => [op.op, op.value])).toEqual([
      ['set', id],
      ['remove', id.toLowerCase()],
    ]);
    expect(start.state.has('setTrustedNode')).toBe(false);
    // exactly 56 hex digits; never in a config file
    expect(optionError(() => parseStartArgs(['setTrustedNode=ABCDEF01'])).option).toBe('setTrustedNode');
    expect(optionError(() => settings(['--config', '/c'], { '/c': `setTrustedNode=${id}\n` })).code).toBe(
      'not-in-config',
    );
  });

  it('bad options name the option and the reason', () => {
    expect(optionError(() => settings(['ogmInterval=99'])).message).toMatch(
      /ogmInterval.*out of range 200\.\.60000/,
    );
    expect(optionError(() => settings(['bogus=1'])).option).toBe('bogus');
    expect(optionError(() => settings(['dev=eth1', 'runtimeDir=/x'])).code).toBe('order');
    expect(optionError(() => settings(['show=originators'])).code).toBe('runtime-only');
    expect(optionError(() => settings(['ipAutoPrefix=fd80::/16'])).option).toBe('ipAutoPrefix');
    expect(optionError(() => settings(['--config', '/none'])).message).toMatch(/cannot read \/none/);
    expect(
      optionError(() => settings(['--config', '/c'], { '/c': 'dev=eth1\nlinkWindow=500\n' })).message,
    ).toMatch(/\/c: line 2: linkWindow/);
  });

  it('unicastHna takes IPv6 networks and refuses an IPv4 one, which HNA6 cannot carry', () => {
    expect(
      settings(['dev=eth1', 'unicastHna=fd01::/64', 'unicastHna=2001:db8::/48']).engine.unicastHna,
    ).toEqual(['fd01::/64', '2001:db8::/48']);
    const e = optionError(() => settings(['dev=eth1', 'unicastHna=fd01::/64', 'unicastHna=10.0.0.0/8']));
    expect([e.option, e.code]).toEqual(['unicastHna', 'bad-value']);
    expect(e.message).toBe(
      'unicastHna: 10.0.0.0/8: IPv6 networks only (HNA6 announces IPv6 prefixes; announce an IPv4 network with tunIn)',
    );
    // also from the config file
    expect(
      optionError(() => settings(['--config', '/c', 'dev=eth1'], { '/c': 'unicastHna=192.0.2.0/24\n' }))
        .option,
    ).toBe('unicastHna');
    expect(daemonOptionTable().get('unicastHna')?.help).toMatch(/IPv6/);
  });

  it("options of the reference's tun plugin are refused, naming the option and the plugin", () => {
    const notLoaded = /^(?:\/c: line \d+: )?(\w+): the tun plugin providing this option is not loaded$/;
    for (const argv of [
      ['tunDev=tun1', '/tun6Address=fd00::1/64'],
      ['tunIn=net6', '/network=fd00:1::/64'],
      ['tunOut=inet', '/network=0.0.0.0/0'],
      ['tunOutTimeout=1000'],
      ['tunRealSrc=1'],
      ['tunMtu=1400'],
      ['dev=eth1', 'tunDevName=X8'],
      ['proactiveTunRoutes=0'],
    ]) {
      const e = optionError(() => settings(argv));
      const name = (argv.find((w) => w.startsWith('tun') || w.startsWith('proactive')) as string).split(
        '=',
      )[0];
      expect(e.message).toMatch(notLoaded);
      expect(e.option).toBe(name);
    }
    const inFile = optionError(() =>
      settings(['--config', '/c'], { '/c': 'dev=eth1\ntunOut=v6\n  /network=::/0\n' }),
    );
    expect(inFile.message).toBe('/c: line 2: tunOut: the tun plugin providing this option is not loaded');
    expect(inFile.option).toBe('tunOut');
    expect(optionError(() => settings(['plugin=bmx7_tun.so'])).message).toMatch(
      /^plugin: bmx7_tun\.so is not available in bmx7d/,
    );
  });

  it('--help, -h and -H come anywhere, with /r=N for the relevance of the options listed', () => {
    expect(parseStartArgs(['dev=eth1']).help).toBe(false);
    const help = (argv: string[]) => {
      const s = parseStartArgs(argv);
      return { help: s.help, ...s.helpOptions };
    };
    expect(help(['dev=eth1', '--help'])).toEqual({ help: true, verbose: false, relevance: 2 });
    expect(help(['-h', '/r=0'])).toEqual({ help: true, verbose: false, relevance: 0 });
    expect(help(['help', '/relevance=1'])).toEqual({ help: true, verbose: false, relevance: 1 });
    expect(help(['-H'])).toEqual({ help: true, verbose: true, relevance: 2 });
    expect(help(['--verboseHelp', '/r=0', 'dev=eth1'])).toEqual({ help: true, verbose: true, relevance: 0 });
    expect(optionError(() => parseStartArgs(['--help', '/r=3'])).message).toMatch(/^\/r/);
  });

  it('the daemon exits with status 2 and one line before touching anything', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmx7d-opt-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const r = spawnSync(process.execPath, daemonArgv([`runtimeDir=${dir}/run`, 'dev=eth1', 'linkWindow=0']), {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^bmx7d: .*linkWindow.*out of range/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a plugin option the plugin refuses ends the daemon with status 2 and one line naming it, before touching anything', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmx7d-opt-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const r = spawnSync(
      process.execPath,
      daemonArgv([
        `runtimeDir=${dir}/run`,
        'dev=eth1',
        'tunOut=inet',
        '/network=0.0.0.0/0',
        // the tun plugin's own check: a table rule may not use the core's table 70
        '/tableRule=30000/70',
      ]),
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^bmx7d: tunOut[^\n]*tableRule[^\n]*\n$/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a tunDevName too long for the device names made from it ends the daemon with status 2 and one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmx7d-opt-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const r = spawnSync(
      process.execPath,
      daemonArgv([`runtimeDir=${dir}/run`, 'dev=eth1', 'tunDevName=ABCD']),
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^bmx7d: tunDevName: at most 3 characters \("ABCD" has 4\)[^\n]*15-byte[^\n]*\n$/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});
