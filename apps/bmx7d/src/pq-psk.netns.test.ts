/**
 * Post-quantum pre-shared keys (docs/pq-psk.md) between real daemons, on wireguard-go:
 *
 *   n1 client [eth1] ── [eth1] n2 relay [eth2] ── [eth1] n3 gateway [up0] ── uplink
 *
 * n1 tunnels to the uplink networks with cryptTun=2, n3 offers them; both agree a PQ PSK over the
 * mesh and rotate it every 10 s (pqPskInterval=10000). Checked: continuous traffic through more
 * than a dozen rotations and one WireGuard rekey loses no packet, and both ends hold the same key
 * afterwards; a restarted gateway, then a restarted client, agree again within one interval and the
 * tunnel carries traffic again; a search requiring a PQ PSK (`/pq=1`) builds no tunnel towards a
 * gateway that announces no KEM key (`pqPsk=0`). Keys are compared as SHA-256 hashes, never printed.
 *
 * Device names include each node's tunDevName (P1 … P3): wireguard-go's sockets share one directory
 * on the machine, so nodes of other tests must not make devices of the same name.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupCryptTest, gatewayDevName, keyHash, lineArgs } from './test/crypt.js';
import {
  addUplink,
  bmx7dSpec,
  ctlFor,
  daemonLog,
  primaryOf,
  routeDev,
  showRows,
  UPLINK,
} from './test/helpers.js';
import { makeKeys } from './test/trust.js';

const UP4 = UPLINK.v4;
const UP6 = UPLINK.v6;
/** The rotation period of both ends, ms. */
const INTERVAL = 10_000;
/** Pings per family in the rotation run, 100 ms apart: 135 s, more than WireGuard's 120-s rekey. */
const PINGS = 1350;
const GW_IN = 'P3wgIn';
const SEARCHES = ['up4', 'up6'];

/** The line's arguments; both ends rotate their PQ PSKs every INTERVAL. */
const args = lineArgs('P', 3);
for (const n of ['n1', 'n3']) args[n]!.push(`pqPskInterval=${INTERVAL}`);

/** A node's daemon: its arguments, each changed by `edit` (a search given `/pq=1`), plus `extra`. */
const spec = (extra: string[] = [], edit: (a: string) => string = (a) => a) =>
  bmx7dSpec((n) => [
    'linkTimeout=10000',
    ...(args[n.name] ?? []).flatMap((a) => edit(a).split(' ')),
    ...extra,
  ]);

const NO_KEY = keyHash('(none)');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => (ms / 1000).toFixed(1);

describeNetns('post-quantum PSKs between bmx7d nodes: rotation, restarts, /pq=1', () => {
  let mesh: Mesh;
  let bed: NetnsBed;
  let ids: Record<string, string>;
  const dir = (n: string) => mesh.node(n).dir;
  const gatewayDev = () => gatewayDevName('P1', ids.n3!);
  const ctl = ctlFor(() => mesh, { timeoutMs: 30_000 });
  const table = (n: string, name: string) => showRows(ctl, n, name);
  /** show wg's row of the other end on a device (n1's gateway device, or n1 on the receiving one). */
  const wgRow = (n: string, dev: string) =>
    table(n, 'wg').find((x) => x.dev === dev && x.name === (n === 'n1' ? 'n3' : 'n1'));
  const ping = (family: 4 | 6, to: string) =>
    mesh.exec('n1', 'ping', [`-${family}`, '-c', '2', '-i', '0.2', '-W', '1', to]).status === 0;
  const reaches = () => ping(4, UP4) && ping(6, UP6);
  const deviceOf = (n: string, to: string) => routeDev(mesh, n, to);
  const logText = (n: string) => {
    try {
      return readFileSync(join(dir(n), 'daemon.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const installs = (text: string) => text.split('\n').filter((l) => l.includes('post-quantum PSK installed'));
  const logs = () => ['n1', 'n3'].map((n) => `--- ${n} ---\n${daemonLog(mesh, n, 4000)}`).join('\n');
  const wgDumps = () =>
    ['n1', 'n3']
      .map((n) => `${n} wg: ${mesh.exec(n, 'wg', ['show', 'all', 'latest-handshakes']).stdout}`)
      .join('\n');

  /** n1's public key (on its gateway device), to find its line on the gateway's receiving device. */
  const clientKey = () => mesh.exec('n1', 'wg', ['show', gatewayDev(), 'public-key']).stdout.trim();
  /** The hash of a device's PSK for one peer (the first peer without `peer`); undefined without one. */
  const pskHash = (n: string, dev: string, peer?: string): string | undefined => {
    const r = mesh.exec(n, 'wg', ['show', dev, 'preshared-keys']);
    if (r.status !== 0) return undefined;
    const line = r.stdout
      .split('\n')
      .map((l) => l.split('\t'))
      .find((f) => f.length === 2 && (peer === undefined || f[0] === peer));
    return line ? keyHash(line[1]!) : undefined;
  };
  /** Both ends hold one key, and it is a key. */
  const keysAgree = () => {
    const peer = clientKey();
    if (!peer) return false;
    const c = pskHash('n1', gatewayDev());
    return c !== undefined && c !== NO_KEY && c === pskHash('n3', GW_IN, peer);
  };
  /** The gateway's receiving device has n1 as a peer, and n1's device has the gateway. */
  const peersUp = () => {
    const peer = clientKey();
    return (
      peer !== '' &&
      mesh.exec('n3', 'wg', ['show', GW_IN, 'peers']).stdout.includes(peer) &&
      mesh.exec('n1', 'wg', ['show', gatewayDev(), 'peers']).stdout.trim() !== ''
    );
  };
  const pqOnBothEnds = () => wgRow('n1', gatewayDev())?.psk === 'pq' && wgRow('n3', GW_IN)?.psk === 'pq';
  const epochs = () => ({
    n1: Number(wgRow('n1', gatewayDev())?.pqEpoch),
    n3: Number(wgRow('n3', GW_IN)?.pqEpoch),
  });
  /** Latest handshake (unix seconds) of n1's device with the gateway; 0 for none. */
  const handshake = () =>
    Number(mesh.exec('n1', 'wg', ['show', gatewayDev(), 'latest-handshakes']).stdout.split('\t')[1] ?? 0);

  async function encryptedAndAgreed(what: string, timeoutMs = 120_000): Promise<void> {
    try {
      await waitFor(what, () => deviceOf('n1', UP4) === gatewayDev() && keysAgree() && reaches(), {
        timeoutMs,
        intervalMs: 1000,
      });
      await waitFor(`${what}: show wg says pq on both ends`, () => pqOnBothEnds(), { timeoutMs: 20_000 });
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\nroute ${deviceOf('n1', UP4)} agree ${keysAgree()}\n${wgDumps()}\n${logs()}`,
      );
    }
  }

  beforeAll(async () => {
    mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'pq' });
    bed = createNetnsBed('pu');
    addUplink(mesh, bed, 'n3');
    ids = makeKeys(mesh);
    mesh.startAll(spec());
    for (const n of ['n1', 'n2', 'n3'])
      await waitFor(`primary address of ${n}`, () => primaryOf(mesh, n), { timeoutMs: 30_000 });
  }, 60_000);
  // after a failure too: wireguard-go of this test's devices, and their sockets (not those of another
  // run of this file)
  afterAll(() => cleanupCryptTest(/^P[1-3]wg/, mesh, bed));

  it('rotation under continuous traffic loses nothing', async () => {
    await encryptedAndAgreed('the encrypted tunnel carries traffic with a PQ PSK');
    // start from a rotated key, so that the run's handshakes all use rotated ones
    await waitFor(
      'a rotated key on both ends',
      () => {
        const e = epochs();
        return e.n1 >= 2 && e.n3 >= 2;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const before = epochs();
    const hsBefore = handshake();
    const logAt = { n1: logText('n1').length, n3: logText('n3').length };
    const t0 = Date.now();

    const run = (family: 4 | 6, to: string): { child: ChildProcess; done: Promise<string> } => {
      const child = bed.spawn(mesh.node('n1').ns, 'ping', [
        `-${family}`,
        '-D',
        '-O',
        '-n',
        '-i',
        '0.1',
        '-W',
        '2',
        '-c',
        String(PINGS),
        to,
      ]);
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const done = new Promise<string>((r) => child.once('exit', () => r(out)));
      return { child, done };
    };
    const runs = [run(4, UP4), run(6, UP6)];
    // while they run: when the handshake moved, and how many installs each end logged by then
    const samples: { t: number; hs: number; n1: number; n3: number }[] = [];
    let running = true;
    void Promise.all(runs.map((r) => r.done)).then(() => {
      running = false;
    });
    while (running) {
      samples.push({
        t: Date.now() - t0,
        hs: handshake(),
        n1: installs(logText('n1').slice(logAt.n1)).length,
        n3: installs(logText('n3').slice(logAt.n3)).length,
      });
      await sleep(1000);
    }
    const outputs = await Promise.all(runs.map((r) => r.done));
    const elapsed = Date.now() - t0;
    const after = epochs();
    const hsAfter = handshake();
    const newLogs = {
      n1: logText('n1').slice(logAt.n1),
      n3: logText('n3').slice(logAt.n3),
    };

    const results = outputs.map((out, i) => {
      const stats = /(\d+) packets transmitted, (\d+) received/.exec(out);
      const replied = new Set([...out.matchAll(/icmp_seq=(\d+) ttl=/g)].map((m) => Number(m[1])));
      const lost = [...out.matchAll(/\[(\d+\.\d+)\] no answer yet for icmp_seq=(\d+)/g)]
        .filter((m) => !replied.has(Number(m[2])))
        .map((m) => `seq ${m[2]} at +${secs(Number(m[1]) * 1000 - t0)} s`);
      return {
        family: i === 0 ? 'IPv4' : 'IPv6',
        sent: Number(stats?.[1] ?? 0),
        received: Number(stats?.[2] ?? 0),
        lost,
        tail: out.split('\n').slice(-4).join('\n'),
      };
    });
    const sent = results.reduce((s, r) => s + r.sent, 0);
    const received = results.reduce((s, r) => s + r.received, 0);
    const rotations = { n1: after.n1 - before.n1, n3: after.n3 - before.n3 };
    const installed = { n1: installs(newLogs.n1).length, n3: installs(newLogs.n3).length };
    const hsSample = samples.find((s) => s.hs > hsBefore);
    const detail =
      `${results.map((r) => `${r.family}: ${r.received}/${r.sent}, lost ${r.lost.join(', ') || '-'}\n${r.tail}`).join('\n')}\n` +
      `epochs ${JSON.stringify(before)} → ${JSON.stringify(after)}, installs logged ${JSON.stringify(installed)}\n` +
      `handshake ${hsBefore} → ${hsAfter}\n` +
      `installs n1:\n${installs(newLogs.n1).join('\n')}\ninstalls n3:\n${installs(newLogs.n3).join('\n')}\n${logs()}`;

    for (const r of results) expect(r.sent, `${r.family} pings sent\n${detail}`).toBe(PINGS);
    expect(received, `pings answered\n${detail}`).toBe(sent);
    // at least one rotation per interval of the run, on both ends (some slack for a loaded host)
    expect(rotations.n1, detail).toBeGreaterThanOrEqual(10);
    expect(rotations.n3, detail).toBeGreaterThanOrEqual(10);
    expect(installed.n1, detail).toBeGreaterThanOrEqual(10);
    expect(installed.n3, detail).toBeGreaterThanOrEqual(10);
    // WireGuard rekeyed during the run (120 s into a session), under a rotated PSK: the new handshake
    // succeeded with the key both ends held by then
    expect(hsAfter, `latest handshake moved forward\n${detail}`).toBeGreaterThan(hsBefore);
    expect(pqOnBothEnds()).toBe(true);
    await waitFor('equal keys after the run', () => keysAgree(), { timeoutMs: 5000 });
    console.log(
      `pq-psk: ${rotations.n1} rotations in ${secs(elapsed)} s (n1 epoch ${before.n1} → ${after.n1}, ` +
        `n3 ${before.n3} → ${after.n3}; installs logged n1 ${installed.n1}, n3 ${installed.n3}), ` +
        `${sent} pings (${results.map((r) => `${r.family} ${r.received}/${r.sent}`).join(', ')}), ${sent - received} lost; ` +
        `WireGuard handshake at +${hsSample ? secs(hsSample.t) : '?'} s, after ` +
        `${hsSample ? Math.min(hsSample.n1, hsSample.n3) : '?'} rotations of the run`,
    );
  }, 330_000);

  /**
   * Restarts a node with the same arguments; returns the times (ms from the restart) until its
   * "bmx7d starting" line, until both devices have each other as peers, until both hold the same
   * PQ PSK, and until the tunnel carries traffic.
   */
  async function restart(node: 'n1' | 'n3') {
    const logStart = logText(node).length;
    await mesh.stop(node, 'SIGTERM');
    const t0 = Date.now();
    mesh.start(node, spec());
    let starting: number | undefined;
    let peers: number | undefined;
    try {
      await waitFor(
        `${node} restarted: both ends agree a PQ PSK`,
        () => {
          const now = Date.now() - t0;
          if (starting === undefined && logText(node).slice(logStart).includes('bmx7d starting'))
            starting = now;
          if (starting !== undefined && peers === undefined && peersUp()) peers = now;
          return starting !== undefined && keysAgree();
        },
        { timeoutMs: 90_000, intervalMs: 100 },
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${wgDumps()}\n${logs()}`);
    }
    const agreed = Date.now() - t0;
    await waitFor(`${node} restarted: traffic again`, () => reaches(), {
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    const traffic = Date.now() - t0;
    await waitFor(`${node} restarted: show wg says pq on both ends`, () => pqOnBothEnds(), {
      timeoutMs: 20_000,
    });
    expect(keysAgree()).toBe(true);
    return { starting: starting!, peers: peers ?? agreed, agreed, traffic };
  }

  it('a restarted end agrees again within one interval', async () => {
    await encryptedAndAgreed('agreed before the restarts');
    for (const [node, role] of [
      ['n3', 'gateway'],
      ['n1', 'client'],
    ] as const) {
      const t = await restart(node);
      console.log(
        `pq-psk: ${role} restarted: "bmx7d starting" after ${secs(t.starting)} s, peers on both devices ` +
          `after ${secs(t.peers)} s, equal PQ PSKs after ${secs(t.agreed)} s ` +
          `(${secs(t.agreed - t.starting)} s after start, ${secs(t.agreed - t.peers)} s after the peers), ` +
          `traffic after ${secs(t.traffic)} s`,
      );
      // within one interval of both ends having the pair; within 20 s of the daemon's start
      expect(t.agreed - t.peers).toBeLessThanOrEqual(INTERVAL);
      expect(t.agreed - t.starting).toBeLessThanOrEqual(20_000);
    }
  }, 330_000);

  it('a search requiring PQ builds no tunnel towards a gateway without a KEM key', async () => {
    await encryptedAndAgreed('encrypted before the restarts');
    await mesh.stop('n3', 'SIGTERM');
    mesh.start('n3', spec(['pqPsk=0']));
    await mesh.stop('n1', 'SIGTERM');
    const started = Date.now();
    mesh.start(
      'n1',
      spec([], (a) => (SEARCHES.some((s) => a.startsWith(`tunOut=${s} `)) ? `${a} /pq=1` : a)),
    );
    // show tunnels: a row per search (tunOut), then a row per network a gateway announces (advNet)
    const rows = () => table('n1', 'tunnels');
    // n1 knows the gateway again: it announces its networks and a WireGuard key
    const diag = (e: unknown) =>
      new Error(
        `${(e as Error).message}\nn1 tunnels: ${JSON.stringify(table('n1', 'tunnels'))}\n` +
          `n1 wg: ${JSON.stringify(table('n1', 'wg'))}\n${logs()}`,
      );
    await waitFor(
      'n1 sees the gateway offer both networks',
      () => {
        const nets = rows()
          .filter((x) => x.remoteName === 'n3')
          .map((x) => x.advNet);
        return nets.includes('192.0.2.0/24') && nets.includes('2001:db8:1::/64');
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    ).catch((e) => {
      throw diag(e);
    });
    await waitFor(
      'n1 admits the gateway as a WireGuard peer',
      () => table('n1', 'wg').some((x) => x.name === 'n3'),
      {
        timeoutMs: 30_000,
        intervalMs: 1000,
      },
    );
    // for 30 s from then: never a route into one of n1's WireGuard devices
    const intoWg = () =>
      ['-4', '-6']
        .map((f) => mesh.exec('n1', 'ip', [f, 'route', 'show', 'table', 'all']).stdout)
        .join('\n')
        .split('\n')
        .filter((l) => / dev P1wg_/.test(l));
    const seen: string[] = [];
    const t0 = Date.now();
    const known = t0 - started;
    while (Date.now() - t0 < 30_000) {
      seen.push(...intoWg());
      await sleep(1000);
    }
    seen.push(...intoWg());
    const watched = Date.now() - t0;
    expect(seen, 'routes into a P1wg_ device').toEqual([]);
    expect(deviceOf('n1', UP4)?.startsWith('P1wg_')).not.toBe(true);
    expect(deviceOf('n1', UP6)?.startsWith('P1wg_')).not.toBe(true);
    expect(ping(4, UP4)).toBe(false);
    expect(ping(6, UP6)).toBe(false);
    const now = rows();
    expect(now.filter((x) => SEARCHES.includes(String(x.tunOut))).map((x) => x.tunOut)).toEqual(SEARCHES);
    // no tunnel for either search nor towards any announced network (the table shows null as ---)
    for (const r of now) expect([null, undefined, '---'], JSON.stringify(r)).toContain(r.tunName);
    // the gateway itself is usable: the same searches without /pq=1 tunnel to it, with no PQ PSK
    await mesh.stop('n1', 'SIGTERM');
    const plain = Date.now();
    mesh.start('n1', spec());
    await waitFor(
      'without /pq=1: encrypted to the gateway',
      () => deviceOf('n1', UP4) === gatewayDev() && reaches(),
      {
        timeoutMs: 90_000,
        intervalMs: 1000,
      },
    );
    const back = Date.now() - plain;
    await waitFor('show wg says none', () => wgRow('n1', gatewayDev())?.psk === 'none', {
      timeoutMs: 20_000,
    });
    console.log(
      `pq-psk: /pq=1 towards a gateway with pqPsk=0: gateway and its networks known ${secs(known)} s after ` +
        `the client's start, then ${secs(watched)} s without a route into WireGuard ` +
        `and without traffic; the same searches without /pq=1 reach the uplink ${secs(back)} s after a restart (psk none)`,
    );
  }, 300_000);
});
