/**
 * Encrypted gateway tunnels (crypt-tun) between real daemons, on wireguard-go (the host kernel has
 * no WireGuard) and the userspace tunnel twin:
 *
 *   n1 client [eth1] ── [eth1] n2 [eth2] ── [eth1] n3 [eth2] ── [eth1] n4 gateway [up0] ── uplink
 *
 * n1 searches the uplink networks with cryptTun=2, n4 offers them with cryptTun=1 and routes the
 * clients' networks back as for plain tunnels. UDP datagrams carrying a random 32-byte marker go
 * from n1 to the uplink host while every relay link is captured: the marker arrives on the uplink
 * and is never seen on a relay link, and no IPv6 packet of next header 4 or 41 crosses one. With
 * cryptTun=0 (set at runtime) the same capture finds the marker on the relay links, so the check
 * can fail. Then: a killed wireguard-go comes back and carries traffic, an untrusted client gets no
 * peer, a gateway without WireGuard gets no tunnel and no plaintext from a cryptTun=2 client, and
 * kill -9 leaves no WireGuard device or wireguard-go behind.
 *
 * Device names include each node's tunDevName (C1 … C4): wireguard-go's sockets share one directory
 * on the machine, so two nodes on one host must not make devices of the same name.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addUplink, bmx7dSpec, ctlArgv, daemonLog, primaryOf, UPLINK } from './test/helpers.js';
import { makeKeys, trustDir } from './test/trust.js';

/** wireguard-go's socket directory. */
const UAPI_DIR = '/var/run/wireguard';
const UP4 = UPLINK.v4;
const UP6 = UPLINK.v6;

const args: Record<string, string[]> = {
  n1: [
    'tunDevName=C1',
    'tunDev=dflt /tun6Address=fdaa:1::1/64 /tun4Address=10.1.0.1/24',
    'tunOut=up6 /network=2001:db8:1::/64',
    'tunOut=up4 /network=192.0.2.0/24',
    'cryptTun=2',
  ],
  n2: ['tunDevName=C2'],
  n3: ['tunDevName=C3'],
  n4: [
    'tunDevName=C4',
    'tunDev=dflt /tun6Address=fdaa:4::1/64 /tun4Address=10.4.0.1/24',
    'tunIn=up6 /network=2001:db8:1::/64 /bandwidth=100M',
    'tunIn=up4 /network=192.0.2.0/24 /bandwidth=100M',
    'tunOut=back6 /network=fdaa::/16 /minPrefixLen=0 /maxPrefixLen=128',
    'tunOut=back4 /network=10.0.0.0/8 /minPrefixLen=0 /maxPrefixLen=32',
    'cryptTun=1',
  ],
};

/** Sends 5 UDP datagrams of `marker` to port 9 of `to`, 100 ms apart (errors ignored: no route is a result). */
const SEND = `const d=require('dgram');const [to,m]=process.argv.slice(1);
const s=d.createSocket(to.includes(':')?'udp6':'udp4');s.on('error',()=>{});let n=0;
const t=setInterval(()=>{s.send(Buffer.from(m),9,to,()=>{});if(++n>=5){clearInterval(t);setTimeout(()=>s.close(),200);}},100);`;

/** The relay links: every link between two nodes of the line, captured at one end. */
const RELAY_LINKS = [
  ['n2', 'eth1'],
  ['n2', 'eth2'],
  ['n3', 'eth2'],
] as const;

describeNetns('encrypted gateway tunnels (crypt-tun) between bmx7d nodes', () => {
  let mesh: Mesh;
  let bed: NetnsBed;
  let uplink: string;
  let ids: Record<string, string>;
  let captures = 0;
  const dir = (n: string) => mesh.node(n).dir;
  const ctl = (n: string, ...a: string[]) =>
    spawnSync(process.execPath, ctlArgv(['--runtime-dir', join(dir(n), 'run'), ...a]), {
      encoding: 'utf8',
      timeout: 20_000,
    });
  const ping = (family: 4 | 6, to: string) =>
    mesh.exec('n1', 'ping', [`-${family}`, '-c', '2', '-i', '0.2', '-W', '1', to]).status === 0;
  const reaches = () => ping(6, UP6) && ping(4, UP4);
  const deviceOf = (n: string, to: string) =>
    / dev (\S+)/.exec(mesh.exec(n, 'ip', ['route', 'get', to]).stdout)?.[1];
  const tunnels = (n: string) => {
    const r = ctl(n, 'show', 'tunnels', '--json');
    return r.status === 0 ? (JSON.parse(r.stdout).rows as Array<Record<string, unknown>>) : [];
  };
  const encryptedSearches = () =>
    tunnels('n1')
      .filter((r) => r.crypt === 'encrypted')
      .map((r) => r.tunOut)
      .sort();
  const logs = () => ['n1', 'n4'].map((n) => `--- ${n} ---\n${daemonLog(mesh, n, 3000)}`).join('\n');
  const wgGoPids = (dev: string) =>
    spawnSync('pgrep', ['-f', `wireguard-go -f ${dev}$`], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
  const gatewayDev = () => `C1wg_${ids.n4!.slice(0, 8)}`;

  /**
   * Captures every relay link and the uplink while n1 sends marked datagrams to both uplink
   * addresses: what each capture holds (the raw pcap bytes, and the IPv6 next headers seen).
   */
  async function sendCaptured(): Promise<{
    marker: string;
    relay: { where: string; pcap: Buffer; nextHeaders: string[] }[];
    uplink: Buffer;
  }> {
    const marker = randomBytes(16).toString('hex');
    const k = captures++;
    const start = (ns: string, iface: string, file: string): ChildProcess =>
      bed.spawn(ns, 'tshark', ['-q', '-i', iface, '-w', file, '-a', 'duration:5']);
    const files = RELAY_LINKS.map(([n, i]) => join(dir(n), `relay-${k}-${i}.pcap`));
    const upFile = join(dir('n4'), `uplink-${k}.pcap`);
    const procs = [
      ...RELAY_LINKS.map(([n, i], j) => start(mesh.node(n).ns, i, files[j]!)),
      start(uplink, 'eth0', upFile),
    ];
    const exited = procs.map((p) => new Promise<void>((r) => p.once('exit', () => r())));
    await new Promise((r) => setTimeout(r, 2000));
    for (const to of [UP4, UP6]) mesh.exec('n1', process.execPath, ['-e', SEND, to, marker]);
    await Promise.all(exited);
    const relay = RELAY_LINKS.map(([n, i], j) => ({
      where: `${n} ${i}`,
      pcap: readFileSync(files[j]!),
      nextHeaders: mesh
        .execOk(n, 'tshark', ['-r', files[j]!, '-T', 'fields', '-e', 'ipv6.nxt'])
        .split('\n')
        .filter(Boolean),
    }));
    return { marker, relay, uplink: readFileSync(upFile) };
  }

  beforeAll(async () => {
    mesh = createMesh({ kind: 'line', n: 4 }, { prefix: 'ct' });
    bed = createNetnsBed('cu');
    uplink = addUplink(mesh, bed, 'n4');
    ids = makeKeys(mesh);
    mesh.startAll(
      bmx7dSpec((n) => ['linkTimeout=10000', ...(args[n.name] ?? []).flatMap((a) => a.split(' '))]),
    );
    for (const n of ['n1', 'n2', 'n3', 'n4'])
      await waitFor(`primary address of ${n}`, () => primaryOf(mesh, n), { timeoutMs: 20_000 });
  }, 60_000);
  afterAll(() => {
    bed?.cleanup();
    mesh?.cleanup();
    // after a failure: wireguard-go of this test's devices, and their sockets (one directory per machine)
    spawnSync('pkill', ['-KILL', '-f', 'wireguard-go -f C[1-4]wg']);
    for (const f of existsSync(UAPI_DIR) ? readdirSync(UAPI_DIR) : [])
      if (/^C[1-4]wg.*\.sock$/.test(f)) rmSync(join(UAPI_DIR, f), { force: true });
  });

  it('cryptTun=2: the client reaches the uplink through WireGuard; no relay link carries the payload', async () => {
    try {
      await waitFor(
        'both searches encrypted and the uplink reached',
        () => encryptedSearches().join() === 'up4,up6' && reaches(),
        { timeoutMs: 90_000, intervalMs: 1000 },
      );
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\nsearches ${encryptedSearches().join()} ping6 ${ping(6, UP6)} ping4 ${ping(4, UP4)}\n` +
          `n1 wg: ${mesh.exec('n1', 'wg', ['show', 'all', 'dump']).stdout}\nn4 wg: ${mesh.exec('n4', 'wg', ['show', 'all', 'dump']).stdout}\n` +
          `n4 routes: ${mesh.exec('n4', 'ip', ['route']).stdout}\n${logs()}`,
      );
    }
    expect(deviceOf('n1', UP4)).toBe(gatewayDev());
    expect(deviceOf('n1', UP6)).toBe(gatewayDev());
    // the gateway's way back goes into its receiving device
    expect(deviceOf('n4', '10.1.0.1')).toBe('C4wgIn');
    const { marker, relay, uplink: up } = await sendCaptured();
    expect(up.includes(marker), 'the marker reaches the uplink').toBe(true);
    for (const r of relay) {
      expect(r.pcap.includes(marker), `marker on ${r.where}`).toBe(false);
      const encapsulated = r.nextHeaders.filter((h) => ['4', '41'].includes(h.split(',')[0]!));
      expect(encapsulated, `IPv6 next header 4/41 on ${r.where}`).toEqual([]);
      // WireGuard's UDP does cross it
      expect(r.nextHeaders.some((h) => h.split(',')[0] === '17')).toBe(true);
    }
    // wg on both ends: a completed handshake, counters moving
    const dump = mesh.execOk('n1', 'wg', ['show', gatewayDev(), 'dump']).split('\n');
    const peer = dump[1]!.split('\t');
    expect(Number(peer[4]), 'latest handshake').toBeGreaterThan(0);
    expect(Number(peer[5]), 'rx bytes').toBeGreaterThan(0);
    // show=wg names the gateway's peer on n1's device
    const wg = JSON.parse(ctl('n1', 'show', 'wg', '--json').stdout).rows as Array<Record<string, unknown>>;
    expect(wg.find((r) => r.dev === gatewayDev())).toMatchObject({ name: 'n4' });
    console.log(
      `crypt-tun: marker on the uplink, on none of ${relay.length} relay links (${relay.map((r) => r.nextHeaders.length).join('/')} packets captured)`,
    );
  }, 150_000);

  it('post-quantum PSKs: both ends hold the same agreed key (compared as hashes), show wg says pq', async () => {
    const row = (n: string, dev: string) => {
      const r = ctl(n, 'show', 'wg', '--json');
      return r.status === 0
        ? (JSON.parse(r.stdout).rows as Array<Record<string, unknown>>).find((x) => x.dev === dev)
        : undefined;
    };
    await waitFor(
      'a post-quantum PSK on both ends',
      () => row('n1', gatewayDev())?.psk === 'pq' && row('n4', 'C4wgIn')?.psk === 'pq',
      {
        timeoutMs: 30_000,
        intervalMs: 500,
      },
    );
    const sha = (t: string) => createHash('sha256').update(t.trim()).digest('hex');
    const keyOf = (n: string, dev: string) =>
      sha(
        mesh
          .execOk(n, 'wg', ['show', dev, 'preshared-keys'])
          .split('\n')
          .find((l) => l.trim() !== '')!
          .split('\t')[1]!,
      );
    await waitFor('equal keys', () => keyOf('n1', gatewayDev()) === keyOf('n4', 'C4wgIn'), {
      timeoutMs: 10_000,
    });
    expect(keyOf('n1', gatewayDev())).not.toBe(sha('(none)'));
    expect(reaches()).toBe(true);
    expect(Number(row('n1', gatewayDev())?.pqEpoch)).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('cryptTun=0 at runtime: traffic moves to plain ip6tnl, and the same capture finds the marker on the relays', async () => {
    const r = ctl('n1', '-c', 'cryptTun=0');
    expect(r.status, r.stderr).toBe(0);
    await waitFor('plain tunnel', () => deviceOf('n1', UP4)?.startsWith('C1Out_') && reaches(), {
      timeoutMs: 60_000,
      intervalMs: 1000,
    });
    const { marker, relay, uplink: up } = await sendCaptured();
    expect(up.includes(marker)).toBe(true);
    for (const x of relay) expect(x.pcap.includes(marker), `marker on ${x.where}`).toBe(true);
    expect(tunnels('n1').some((x) => x.crypt === 'plain')).toBe(true);
    // and back to WireGuard without a restart
    expect(ctl('n1', '-c', 'cryptTun=2').status).toBe(0);
    await waitFor('encrypted again', () => deviceOf('n1', UP4) === gatewayDev() && reaches(), {
      timeoutMs: 60_000,
      intervalMs: 1000,
    });
  }, 150_000);

  it('a killed wireguard-go is restarted and the tunnel carries traffic again', async () => {
    const [pid] = wgGoPids(gatewayDev());
    expect(pid, 'wireguard-go of the client device').toBeDefined();
    process.kill(Number(pid), 'SIGKILL');
    await waitFor(
      'a new wireguard-go carrying traffic',
      () => {
        const now = wgGoPids(gatewayDev());
        return now.length === 1 && now[0] !== pid && deviceOf('n1', UP4) === gatewayDev() && reaches();
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
  }, 90_000);

  it('a gateway with trustedNodesDir does not admit an untrusted client as a peer', async () => {
    const peersOnIn = () => {
      const r = ctl('n4', 'show', 'wg', '--json');
      return r.status === 0
        ? (JSON.parse(r.stdout).rows as Array<Record<string, unknown>>)
            .filter((x) => x.dev === 'C4wgIn')
            .map((x) => x.name)
        : [];
    };
    await waitFor('n1 a peer of the gateway', () => peersOnIn().includes('n1'), { timeoutMs: 20_000 });
    const trusted = trustDir(mesh, 'n4', [ids.n2!, ids.n3!]);
    expect(ctl('n4', '-c', `trustedNodesDir=${trusted}`).status).toBe(0);
    await waitFor('n1 no peer of the gateway', () => !peersOnIn().includes('n1'), { timeoutMs: 20_000 });
    const dump = mesh.execOk('n4', 'wg', ['show', 'C4wgIn', 'dump']);
    expect(dump.split('\n').filter(Boolean)).toHaveLength(1); // the device line, no peer
    expect(ping(4, UP4)).toBe(false);
    expect(ctl('n4', '-c', 'trustedNodesDir=-').status).toBe(0);
    await waitFor('n1 back', () => reaches(), { timeoutMs: 60_000, intervalMs: 1000 });
  }, 120_000);

  it('static pre-shared keys: mismatched keys complete no handshake, equal ones do; show wg says so', async () => {
    const keyFile = (n: string, name: string, mode = 0o600) => {
      const f = join(dir(n), name);
      writeFileSync(f, mesh.execOk(n, 'wg', ['genpsk']), { mode });
      chmodSync(f, mode);
      return f;
    };
    const a1 = keyFile('n1', 'psk-a');
    const a4 = join(dir('n4'), 'psk-a');
    writeFileSync(a4, readFileSync(a1), { mode: 0o600 });
    const b1 = keyFile('n1', 'psk-b');
    // a key file others may read is refused, and nothing changes
    const open = keyFile('n1', 'psk-open', 0o644);
    const refused = ctl('n1', '-c', `wgPsk=${open}`);
    expect(refused.status).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toMatch(/mode 644/);
    expect(ctl('n4', '-c', `wgPsk=${a4}`).status).toBe(0);
    // n1 starts afresh with the other key and without post-quantum PSKs (which would take the
    // slot): no handshake completes
    await mesh.stop('n1', 'SIGTERM');
    mesh.start(
      'n1',
      bmx7dSpec((n) => [
        'linkTimeout=10000',
        `wgPsk=${b1}`,
        'pqPsk=0',
        ...args[n.name]!.flatMap((a) => a.split(' ')),
      ]),
    );
    const wgRow = () => {
      const r = ctl('n1', 'show', 'wg', '--json');
      return r.status === 0
        ? (JSON.parse(r.stdout).rows as Array<Record<string, unknown>>).find((x) => x.dev === gatewayDev())
        : undefined;
    };
    await waitFor('n1 routes into WireGuard', () => deviceOf('n1', UP4) === gatewayDev(), {
      timeoutMs: 60_000,
      intervalMs: 1000,
    });
    await new Promise((r) => setTimeout(r, 7000)); // more than one handshake attempt (5 s apart)
    expect(ping(4, UP4)).toBe(false);
    expect(wgRow()).toMatchObject({ psk: 'static', lastHandshake: '---' });
    // the same key on both ends: the handshake completes, traffic flows
    expect(ctl('n1', '-c', `wgPsk=${a1}`).status).toBe(0);
    await waitFor('traffic with equal keys', () => reaches(), { timeoutMs: 60_000, intervalMs: 1000 });
    // show wg reads the devices every 2 s
    await waitFor('show wg has the handshake', () => wgRow()?.lastHandshake !== '---', { timeoutMs: 10_000 });
    // both ends hold the same key: compared as hashes, never printed
    const sha = (t: string) => createHash('sha256').update(t.trim()).digest('hex');
    const n1Key = mesh.execOk('n1', 'wg', ['show', gatewayDev(), 'preshared-keys']).split('\t')[1]!;
    const n4Line = mesh
      .execOk('n4', 'wg', ['show', 'C4wgIn', 'preshared-keys'])
      .split('\n')
      .find((l) => l.trim() !== '')!;
    expect(sha(n4Line.split('\t')[1]!)).toBe(sha(n1Key));
    expect(sha(n1Key)).toBe(sha(readFileSync(a1, 'utf8')));
    // back to no key on both ends for the tests that follow
    expect(ctl('n1', '-c', 'wgPsk=-').status).toBe(0);
    expect(ctl('n4', '-c', 'wgPsk=-').status).toBe(0);
    await waitFor('no key on either end', () => wgRow()?.psk === 'none', { timeoutMs: 20_000 });
  }, 180_000);

  it('cryptTun=2 towards a gateway without WireGuard: no route and no plaintext', async () => {
    await mesh.stop('n4', 'SIGTERM');
    mesh.start(
      'n4',
      bmx7dSpec((n) => ['linkTimeout=10000', 'wgBackend=off', ...args[n.name]!.flatMap((a) => a.split(' '))]),
    );
    await waitFor(
      'n1 without a tunnel route',
      () => {
        const rows = tunnels('n1');
        return rows.length > 0 && !rows.some((x) => typeof x.tunName === 'string' && x.tunName !== '---');
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    // n1 sees the gateway again (its networks are announced), yet selects nothing
    await waitFor('n4 announces again', () => tunnels('n1').some((x) => x.advNet === '192.0.2.0/24'), {
      timeoutMs: 60_000,
      intervalMs: 1000,
    });
    expect(deviceOf('n1', UP4)?.startsWith('C1')).not.toBe(true);
    const { marker, relay } = await sendCaptured();
    for (const r of relay) {
      expect(r.pcap.includes(marker), `marker on ${r.where}`).toBe(false);
      expect(r.nextHeaders.filter((h) => ['4', '41'].includes(h.split(',')[0]!))).toEqual([]);
    }
    // the gateway back with WireGuard: encrypted again
    await mesh.stop('n4', 'SIGTERM');
    mesh.start(
      'n4',
      bmx7dSpec((n) => ['linkTimeout=10000', ...args[n.name]!.flatMap((a) => a.split(' '))]),
    );
    await waitFor('encrypted again', () => deviceOf('n1', UP4) === gatewayDev() && reaches(), {
      timeoutMs: 90_000,
      intervalMs: 1000,
    });
  }, 240_000);

  it('kill -9 and a restart leave no WireGuard device or wireguard-go behind', async () => {
    const before = wgGoPids(gatewayDev());
    expect(before).toHaveLength(1);
    await mesh.stop('n1', 'SIGKILL');
    mesh.start(
      'n1',
      bmx7dSpec((n) => ['linkTimeout=10000', ...args[n.name]!.flatMap((a) => a.split(' '))]),
    );
    await waitFor(
      'leftovers removed',
      () => /removing leftovers of the last run/.test(daemonLog(mesh, 'n1', 1e6)),
      {
        timeoutMs: 20_000,
      },
    );
    await waitFor('encrypted again', () => deviceOf('n1', UP4) === gatewayDev() && reaches(), {
      timeoutMs: 90_000,
      intervalMs: 1000,
    });
    const after = wgGoPids(gatewayDev());
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]);
    // a clean stop of everything: no device, no wireguard-go, no socket
    for (const n of ['n1', 'n2', 'n3', 'n4']) await mesh.stop(n, 'SIGTERM');
    for (const n of ['n1', 'n2', 'n3', 'n4'])
      expect(mesh.execOk(n, 'ip', ['-o', 'link', 'show'])).not.toMatch(/C\dwg|C\dOut_/);
    for (const dev of [gatewayDev(), 'C4wgIn']) {
      expect(wgGoPids(dev)).toEqual([]);
      expect(existsSync(join(UAPI_DIR, `${dev}.sock`)), `${dev}.sock`).toBe(false);
    }
  }, 180_000);
});
