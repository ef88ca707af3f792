import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OptionError, parseArgs, renderHelp } from '@bmx7/control';
import { describe, expect, it, onTestFinished } from 'vitest';
import { daemonOptionTable, parseStartArgs, settingsOf } from '../options.js';
import { BUILTIN_PLUGINS } from '../plugins.js';
import { daemonArgv } from '../test/helpers.js';
import { isLoopback, parseListen } from './listen.js';

const settings = (argv: string[]) =>
  settingsOf(parseStartArgs(argv, undefined, daemonOptionTable()).state, {
    hostname: 'host',
    pathKind: () => 'dir',
  });

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof OptionError) return `${e.option}: ${e.message}`;
    throw e;
  }
  throw new Error('accepted');
};

describe('metricsListen and httpListen', () => {
  it.each([
    ['9100', '127.0.0.1', 9100, '127.0.0.1:9100'],
    ['0.0.0.0:9100', '0.0.0.0', 9100, '0.0.0.0:9100'],
    ['10.1.2.3:1', '10.1.2.3', 1, '10.1.2.3:1'],
    ['[::1]:65535', '::1', 65535, '[::1]:65535'],
    ['[::]:8080', '::', 8080, '[::]:8080'],
    ['[fe80::1%eth1]:8080', 'fe80::1%eth1', 8080, '[fe80::1%eth1]:8080'],
    ['[::ffff:127.0.0.1]:80', '::ffff:127.0.0.1', 80, '[::ffff:127.0.0.1]:80'],
  ])('%s listens on %s port %d', (raw, host, port, text) => {
    expect(parseListen('metricsListen', raw)).toEqual({ host, port, text });
  });

  it.each([
    ['0', /port outside 1-65535/],
    ['65536', /port outside 1-65535/],
    ['1.2.3.4:99999', /port outside/],
    ['::1:9100', /IPv4 address before the port \(an IPv6 one goes in brackets\)/],
    ['300.1.1.1:80', /no IPv4 address/],
    ['[1.2.3.4]:80', /no IPv6 address in its brackets/],
    ['localhost:80', /no IPv4 address/],
    ['1.2.3.4:', /is not of the form/],
  ])('%s is refused, naming the option', (raw, why) => {
    expect(refusal(() => parseListen('httpListen', raw))).toMatch(why);
    expect(refusal(() => parseListen('httpListen', raw))).toMatch(/^httpListen: httpListen: "/);
  });

  it('are off by default, and given on the command line or in a config file', () => {
    const none = settings(['dev=eth1']);
    expect(none.metricsListen).toBeUndefined();
    expect(none.httpListen).toBeUndefined();
    const s = settings(['dev=eth1', 'metricsListen=9100', 'httpListen=[::1]:8080']);
    expect(s.metricsListen).toEqual({ host: '127.0.0.1', port: 9100, text: '127.0.0.1:9100' });
    expect(s.httpListen?.text).toBe('[::1]:8080');
    const fromFile = settingsOf(
      parseStartArgs(['--config', '/c', 'dev=eth1'], () => 'metricsListen 0.0.0.0:9100\n').state,
      { hostname: 'h', pathKind: () => 'dir' },
    );
    expect(fromFile.metricsListen?.text).toBe('0.0.0.0:9100');
  });

  it('are runtime options too (bmx7ctl -c metricsListen=…), in the table with the plugins', () => {
    const t = daemonOptionTable(BUILTIN_PLUGINS);
    expect(t.get('metricsListen')?.when).toBe('both');
    expect(t.get('httpListen')?.when).toBe('both');
    expect(parseArgs(['metricsListen=9200'], t, { context: 'runtime' }).ok).toBe(true);
    // the pattern refuses what is plainly no address before settingsOf looks closer
    const r = parseArgs(['httpListen=eth0:80'], t, { context: 'runtime' });
    expect(r.ok).toBe(false);
  });

  it('say in help where they listen and that they are off by default', () => {
    const help = renderHelp(daemonOptionTable(), { program: 'bmx7d', relevance: 0, verbose: true });
    expect(help).toMatch(
      /--metricsListen <\[ADDR:\]PORT>\s+serve metrics .*listens on 127\.0\.0\.1.*default: off/,
    );
    expect(help).toMatch(/--httpListen <\[ADDR:\]PORT>\s+serve the live status page .*default: off/);
  });

  it('a bad value ends the daemon with status 2 and one line naming the option, before touching anything', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmx7d-listen-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const r = spawnSync(
      process.execPath,
      daemonArgv([`runtimeDir=${dir}/run`, 'dev=eth1', 'metricsListen=[::1]:70000']),
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^bmx7d: metricsListen: "\[::1\]:70000" has a port outside 1-65535\n$/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('tells loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'fd70::1', '128.0.0.1']) expect(isLoopback(h)).toBe(false);
  });
});
