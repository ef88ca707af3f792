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
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  captureWhileSending,
  cleanupCryptTest,
  expectOnlyWireguardOnRelays,
  gatewayDevName,
  ipInIp,
  keyHash,
  lineArgs,
  relayLinks,
  UAPI_DIR,
  waitSearchesEncrypted,
  wgGoPids,
} from './test/crypt.js';
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
import { makeKeys, trustDir } from './test/trust.js';

const UP4 = UPLINK.v4;
const UP6 = UPLINK.v6;

const args = lineArgs('C', 4);
/** The relay links: every link between two nodes of the line, captured at one end. */
const RELAY_LINKS = relayLinks(4);

describeNetns('encrypted gateway tunnels (crypt-tun) between bmx7d nodes', () => {
  let mesh: Mesh;
  let bed: NetnsBed;
  let uplink: string;
  let ids: Record<string, string>;
  const dir = (n: string) => mesh.node(n).dir;
  const ctl = ctlFor(() => mesh);
  const ping = (family: 4 | 6, to: string) =>
    mesh.exec('n1', 'ping', [`-${family}`, '-c', '2', '-i', '0.2', '-W', '1', to]).status === 0;
  const reaches = () => ping(6, UP6) && ping(4, UP4);
  const deviceOf = (n: string, to: string) => routeDev(mesh, n, to);
  const tunnels = (n: string) => showRows(ctl, n, 'tunnels');
  const logs = () => ['n1', 'n4'].map((n) => `--- ${n} ---\n${daemonLog(mesh, n, 3000)}`).join('\n');
  const gatewayDev = () => gatewayDevName('C1', ids.n4!);
  /** Every relay link and the uplink captured while n1 sends marked datagrams to both uplink hosts. */
  const sendCaptured = () => captureWhileSending({ mesh, bed, links: RELAY_LINKS, uplink, gateway: 'n4' });

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
  // after a failure too: wireguard-go of this test's devices, and their sockets
  afterAll(() => cleanupCryptTest(/^C[1-4]wg/, mesh, bed));

  it('cryptTun=2: the client reaches the uplink through WireGuard; no relay link carries the payload', async () => {
    await waitSearchesEncrypted(
      ctl,
      ping,
      () =>
        `n1 wg: ${mesh.exec('n1', 'wg', ['show', 'all', 'dump']).stdout}\nn4 wg: ${mesh.exec('n4', 'wg', ['show', 'all', 'dump']).stdout}\n` +
        `n4 routes: ${mesh.exec('n4', 'ip', ['route']).stdout}\n${logs()}`,
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    expect(deviceOf('n1', UP4)).toBe(gatewayDev());
    expect(deviceOf('n1', UP6)).toBe(gatewayDev());
    // the gateway's way back goes into its receiving device
    expect(deviceOf('n4', '10.1.0.1')).toBe('C4wgIn');
    const captured = await sendCaptured();
    expectOnlyWireguardOnRelays(captured);
    // wg on both ends: a completed handshake, counters moving
    const dump = mesh.execOk('n1', 'wg', ['show', gatewayDev(), 'dump']).split('\n');
    const peer = dump[1]!.split('\t');
    expect(Number(peer[4]), 'latest handshake').toBeGreaterThan(0);
    expect(Number(peer[5]), 'rx bytes').toBeGreaterThan(0);
    // show=wg names the gateway's peer on n1's device
    const wg = showRows(ctl, 'n1', 'wg');
    expect(wg.find((r) => r.dev === gatewayDev())).toMatchObject({ name: 'n4' });
    console.log(
      `crypt-tun: marker on the uplink, on none of ${captured.relay.length} relay links (${captured.relay.map((r) => r.protocols.length).join('/')} packets captured)`,
    );
  }, 150_000);

  it('post-quantum PSKs: both ends hold the same agreed key (compared as hashes), show wg says pq', async () => {
    const row = (n: string, dev: string) => showRows(ctl, n, 'wg').find((x) => x.dev === dev);
    await waitFor(
      'a post-quantum PSK on both ends',
      () => row('n1', gatewayDev())?.psk === 'pq' && row('n4', 'C4wgIn')?.psk === 'pq',
      {
        timeoutMs: 30_000,
        intervalMs: 500,
      },
    );
    const keyOf = (n: string, dev: string) =>
      keyHash(
        mesh
          .execOk(n, 'wg', ['show', dev, 'preshared-keys'])
          .split('\n')
          .find((l) => l.trim() !== '')!
          .split('\t')[1]!,
      );
    await waitFor('equal keys', () => keyOf('n1', gatewayDev()) === keyOf('n4', 'C4wgIn'), {
      timeoutMs: 10_000,
    });
    expect(keyOf('n1', gatewayDev())).not.toBe(keyHash('(none)'));
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
    process.kill(pid!, 'SIGKILL');
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
    const peersOnIn = () =>
      showRows(ctl, 'n4', 'wg')
        .filter((x) => x.dev === 'C4wgIn')
        .map((x) => x.name);
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
    const wgRow = () => showRows(ctl, 'n1', 'wg').find((x) => x.dev === gatewayDev());
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
    const n1Key = mesh.execOk('n1', 'wg', ['show', gatewayDev(), 'preshared-keys']).split('\t')[1]!;
    const n4Line = mesh
      .execOk('n4', 'wg', ['show', 'C4wgIn', 'preshared-keys'])
      .split('\n')
      .find((l) => l.trim() !== '')!;
    expect(keyHash(n4Line.split('\t')[1]!)).toBe(keyHash(n1Key));
    expect(keyHash(n1Key)).toBe(keyHash(readFileSync(a1, 'utf8')));
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
      expect(ipInIp(r)).toEqual([]);
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
