/**
 * Encrypted gateway tunnels (crypt-tun) with kernel WireGuard at one end and wireguard-go at the
 * other, over the kernel's ip6tnl (tunBackend=auto). Runs in the VM (pnpm test:vm), where the
 * kernel has wireguard and ip6_tunnel; elsewhere it is skipped with the reason.
 *
 *   n1 client [eth1] ── [eth1] n2 [eth2] ── [eth1] n3 [eth2] ── [eth1] n4 gateway [up0] ── uplink
 *   cryptTun=2                                                       cryptTun=1
 *   wgBackend=userspace                                              wgBackend=kernel
 *
 * The client's device to the gateway is a wireguard-go device, the gateway's receiving device a
 * kernel WireGuard link. Pings of both families reach the uplink through it, and UDP datagrams
 * carrying a random 32-byte marker reach the uplink while every relay link is captured: the marker
 * is never seen on a relay link, and no IPv6 packet of next header 4 or 41 crosses one. Then the
 * two ends swap backends (kernel at the client, wireguard-go at the gateway) and the same holds.
 * A clean stop leaves no WireGuard device and no wireguard-go.
 *
 * Captures are taken with dumpcap and read without tshark (it starts too slowly under emulation).
 * Device names include each node's tunDevName (K1 … K4), apart from the netns tests' names:
 * wireguard-go's sockets share one directory on the machine.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMesh, type DaemonSpec, type Mesh, type MeshNode } from '@bmx7/testbed';
import { describeKernel } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  captureWhileSending,
  cleanupCryptTest,
  expectOnlyWireguardOnRelays,
  gatewayDevName,
  lineArgs,
  relayLinks,
  UAPI_DIR,
  waitSearchesEncrypted,
  wgGoPids,
  wireguardGo,
} from './test/crypt.js';
import {
  addUplink,
  bmx7dArgs,
  ctlFor,
  daemonLog,
  primaryOf,
  routeDev,
  showRows,
  UPLINK,
} from './test/helpers.js';
import { makeKeys } from './test/trust.js';

/** The built daemon and bmx7ctl: under emulation, loading the sources through tsx takes too long. */
const DIST = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const CTL_DIST = fileURLToPath(new URL('../../bmx7ctl/dist/main.js', import.meta.url));
/** This test's WireGuard devices (and their sockets): those of tunDevName K1 … K4. */
const OWN_DEV = /^K[1-4]wg/;
const UP4 = UPLINK.v4;
const UP6 = UPLINK.v6;

const args = lineArgs('K', 4);

type WgBackend = 'kernel' | 'userspace';

/** The daemon of a node, with the WireGuard backend of that node (none for the relays). */
const spec =
  (backends: Partial<Record<string, WgBackend>>) =>
  (n: MeshNode): DaemonSpec => {
    const wg = backends[n.name];
    return {
      cmd: process.execPath,
      args: [
        DIST,
        ...bmx7dArgs(n, [
          'linkTimeout=10000',
          ...(wg ? [`wgBackend=${wg}`] : []),
          ...(args[n.name] ?? []).flatMap((a) => a.split(' ')),
        ]),
      ],
    };
  };

/** The relay links: every link between two nodes of the line, captured at one end. */
const RELAY_LINKS = relayLinks(4);

describeKernel(
  'encrypted gateway tunnels (crypt-tun) between kernel WireGuard and wireguard-go',
  ['wireguard', 'ip6tnl'],
  () => {
    let mesh: Mesh;
    let bed: NetnsBed;
    let uplink: string;
    let ids: Record<string, string>;
    const ctl = ctlFor(() => mesh, { timeoutMs: 60_000, argv: (a) => [CTL_DIST, ...a] });
    const ping = (family: 4 | 6, to: string) =>
      mesh.exec('n1', 'ping', [`-${family}`, '-c', '2', '-i', '0.3', '-W', '2', to]).status === 0;
    const deviceOf = (n: string, to: string) => routeDev(mesh, n, to);
    const logs = () => ['n1', 'n4'].map((n) => `--- ${n} ---\n${daemonLog(mesh, n, 3000)}`).join('\n');
    const allWgGo = () => wireguardGo(OWN_DEV);
    const gatewayDev = () => gatewayDevName('K1', ids.n4!);
    /** `ip -d link show` of a device: its kind is on the line after link/… */
    const linkDetails = (n: string, dev: string) => mesh.exec(n, 'ip', ['-d', 'link', 'show', dev]).stdout;
    const isKernelWg = (n: string, dev: string) => /^\s+wireguard\b/m.test(linkDetails(n, dev));
    const isTun = (n: string, dev: string) => /^\s+tun type tun\b/m.test(linkDetails(n, dev));
    const links = (n: string) => mesh.execOk(n, 'ip', ['-o', 'link', 'show']);

    /**
     * Captures every relay link and the uplink while n1 sends marked datagrams to both uplink
     * addresses: what each capture holds (the raw pcap bytes, and the IP protocols seen).
     */
    const sendCaptured = () =>
      captureWhileSending({ mesh, bed, links: RELAY_LINKS, uplink, gateway: 'n4', tool: 'dumpcap' });

    /** Waits for both searches encrypted and the uplink reached; the state on failure. */
    const waitEncrypted = () =>
      waitSearchesEncrypted(
        ctl,
        ping,
        () =>
          `n1 wg: ${mesh.exec('n1', 'wg', ['show', 'all', 'dump']).stdout}\nn4 wg: ${mesh.exec('n4', 'wg', ['show', 'all', 'dump']).stdout}\n` +
          `n1 links: ${links('n1')}\nn4 links: ${links('n4')}\nn4 routes: ${mesh.exec('n4', 'ip', ['route']).stdout}\n${logs()}`,
        { timeoutMs: 180_000, intervalMs: 2000 },
      );

    /** The tunnel carries the pings and the marker, and nothing of it shows on a relay link. */
    async function expectEncryptedLine(): Promise<void> {
      await waitEncrypted();
      expect(deviceOf('n1', UP4)).toBe(gatewayDev());
      expect(deviceOf('n1', UP6)).toBe(gatewayDev());
      // the gateway's way back goes into its receiving device
      expect(deviceOf('n4', '10.1.0.1')).toBe('K4wgIn');
      expect(deviceOf('n4', 'fdaa:1::1')).toBe('K4wgIn');
      const captured = await sendCaptured();
      expectOnlyWireguardOnRelays(captured);
      // a completed handshake and counters moving, on both ends
      const peerOf = (n: string, dev: string) =>
        mesh.execOk(n, 'wg', ['show', dev, 'dump']).split('\n')[1]!.split('\t');
      for (const [n, dev] of [
        ['n1', gatewayDev()],
        ['n4', 'K4wgIn'],
      ] as const) {
        const peer = peerOf(n, dev);
        expect(Number(peer[4]), `latest handshake on ${n} ${dev}`).toBeGreaterThan(0);
        expect(Number(peer[5]), `rx bytes on ${n} ${dev}`).toBeGreaterThan(0);
      }
      const wg = showRows(ctl, 'n1', 'wg');
      expect(wg.find((r) => r.dev === gatewayDev())).toMatchObject({ name: 'n4' });
      console.log(
        `crypt-tun: marker on the uplink, on none of ${captured.relay.length} relay links (${captured.relay.map((r) => r.protocols.length).join('/')} packets captured)`,
      );
    }

    /** Stops n1 and n4 (SIGTERM); neither leaves a WireGuard device, a wireguard-go or a socket. */
    async function stopCleanly(nodes: string[]): Promise<void> {
      const gone = [gatewayDev(), 'K4wgIn'];
      for (const n of nodes) await mesh.stop(n, 'SIGTERM', 60_000);
      for (const n of nodes) expect(links(n), `links of ${n}`).not.toMatch(/: K\dwg|: K\dOut_/);
      await waitFor('no wireguard-go left', () => allWgGo().length === 0, { timeoutMs: 10_000 }).catch(
        () => {},
      );
      expect(allWgGo()).toEqual([]);
      for (const dev of gone) expect(existsSync(join(UAPI_DIR, `${dev}.sock`)), `${dev}.sock`).toBe(false);
    }

    beforeAll(async () => {
      for (const f of [DIST, CTL_DIST]) if (!existsSync(f)) throw new Error(`build first: ${f} is missing`);
      mesh = createMesh({ kind: 'line', n: 4 }, { prefix: 'kc' });
      bed = createNetnsBed('ku');
      uplink = addUplink(mesh, bed, 'n4');
      // RSA1024 node keys (the daemon loads a key of any type): RSA2048 ones take about 25 s to make
      // under emulation
      ids = makeKeys(mesh, 4);
      mesh.startAll(spec({ n1: 'userspace', n4: 'kernel' }));
      for (const n of ['n1', 'n2', 'n3', 'n4'])
        await waitFor(`primary address of ${n}`, () => primaryOf(mesh, n), { timeoutMs: 90_000 });
    }, 120_000);
    // after a failure too: wireguard-go of this test's devices, and their sockets
    afterAll(() => cleanupCryptTest(OWN_DEV, mesh, bed));

    it('wireguard-go client, kernel gateway: both families reach the uplink; no relay link carries the payload', async () => {
      await waitEncrypted();
      // the client's device is wireguard-go's TUN, the gateway's a kernel WireGuard link
      expect(wgGoPids(gatewayDev()), `wireguard-go -f ${gatewayDev()}`).toHaveLength(1);
      expect(isTun('n1', gatewayDev()), linkDetails('n1', gatewayDev())).toBe(true);
      expect(isKernelWg('n4', 'K4wgIn'), linkDetails('n4', 'K4wgIn')).toBe(true);
      expect(wgGoPids('K4wgIn')).toEqual([]);
      await expectEncryptedLine();
    }, 300_000);

    it('kernel client, wireguard-go gateway: the same, after a clean restart of both ends', async () => {
      await stopCleanly(['n1', 'n4']);
      const swapped = spec({ n1: 'kernel', n4: 'userspace' });
      mesh.start('n1', swapped);
      mesh.start('n4', swapped);
      await waitEncrypted();
      expect(isKernelWg('n1', gatewayDev()), linkDetails('n1', gatewayDev())).toBe(true);
      expect(wgGoPids(gatewayDev())).toEqual([]);
      expect(wgGoPids('K4wgIn'), 'wireguard-go -f K4wgIn').toHaveLength(1);
      expect(isTun('n4', 'K4wgIn'), linkDetails('n4', 'K4wgIn')).toBe(true);
      await expectEncryptedLine();
    }, 360_000);

    it('a clean stop leaves no WireGuard device, wireguard-go or socket', async () => {
      await stopCleanly(['n1', 'n2', 'n3', 'n4']);
    }, 120_000);
  },
);
