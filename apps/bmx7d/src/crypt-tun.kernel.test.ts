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
 * Captures are taken with dumpcap and read here (tshark starts too slowly under emulation). Device
 * names include each node's tunDevName (K1 … K4), apart from the netns tests' names: wireguard-go's
 * sockets share one directory on the machine.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMesh, type DaemonSpec, type Mesh, type MeshNode } from '@bmx7/testbed';
import { describeKernel } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addUplink, bmx7dArgs, daemonLog, primaryOf, UPLINK } from './test/helpers.js';
import { makeKeys } from './test/trust.js';

/** The built daemon and bmx7ctl: under emulation, loading the sources through tsx takes too long. */
const DIST = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const CTL_DIST = fileURLToPath(new URL('../../bmx7ctl/dist/main.js', import.meta.url));
/** wireguard-go's socket directory. */
const UAPI_DIR = '/var/run/wireguard';
const UP4 = UPLINK.v4;
const UP6 = UPLINK.v6;

const args: Record<string, string[]> = {
  n1: [
    'tunDevName=K1',
    'tunDev=dflt /tun6Address=fdaa:1::1/64 /tun4Address=10.1.0.1/24',
    'tunOut=up6 /network=2001:db8:1::/64',
    'tunOut=up4 /network=192.0.2.0/24',
    'cryptTun=2',
  ],
  n2: ['tunDevName=K2'],
  n3: ['tunDevName=K3'],
  n4: [
    'tunDevName=K4',
    'tunDev=dflt /tun6Address=fdaa:4::1/64 /tun4Address=10.4.0.1/24',
    'tunIn=up6 /network=2001:db8:1::/64 /bandwidth=100M',
    'tunIn=up4 /network=192.0.2.0/24 /bandwidth=100M',
    'tunOut=back6 /network=fdaa::/16 /minPrefixLen=0 /maxPrefixLen=128',
    'tunOut=back4 /network=10.0.0.0/8 /minPrefixLen=0 /maxPrefixLen=32',
    'cryptTun=1',
  ],
};

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

/**
 * The packets of a classic pcap file of Ethernet frames (dumpcap -P), as the IPv6 next header of
 * each IPv6 packet and the IPv4 protocol of each IPv4 packet ("6:<n>" and "4:<n>").
 */
function ipProtocols(pcap: Buffer): string[] {
  if (pcap.length < 24) return [];
  const magic = pcap.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && pcap.readUInt32BE(0) !== 0xa1b2c3d4 && pcap.readUInt32BE(0) !== 0xa1b23c4d)
    throw new Error(`not a pcap file (magic ${magic.toString(16)})`);
  const u32 = (o: number) => (le ? pcap.readUInt32LE(o) : pcap.readUInt32BE(o));
  const linkType = u32(20);
  if (linkType !== 1) throw new Error(`pcap link type ${linkType}, not Ethernet`);
  const out: string[] = [];
  for (let o = 24; o + 16 <= pcap.length; ) {
    const len = u32(o + 8);
    const frame = pcap.subarray(o + 16, o + 16 + len);
    o += 16 + len;
    if (frame.length < 14) continue;
    const type = frame.readUInt16BE(12);
    if (type === 0x86dd && frame.length >= 14 + 40) out.push(`6:${frame[14 + 6]}`);
    else if (type === 0x0800 && frame.length >= 14 + 20) out.push(`4:${frame[14 + 9]}`);
  }
  return out;
}

describeKernel(
  'encrypted gateway tunnels (crypt-tun) between kernel WireGuard and wireguard-go',
  ['wireguard', 'ip6tnl'],
  () => {
    let mesh: Mesh;
    let bed: NetnsBed;
    let uplink: string;
    let ids: Record<string, string>;
    let captures = 0;
    const dir = (n: string) => mesh.node(n).dir;
    const ctl = (n: string, ...a: string[]) =>
      spawnSync(process.execPath, [CTL_DIST, '--runtime-dir', join(dir(n), 'run'), ...a], {
        encoding: 'utf8',
        timeout: 60_000,
      });
    const ping = (family: 4 | 6, to: string) =>
      mesh.exec('n1', 'ping', [`-${family}`, '-c', '2', '-i', '0.3', '-W', '2', to]).status === 0;
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
    const allWgGo = () =>
      spawnSync('pgrep', ['-a', '-f', 'wireguard-go -f K[1-4]wg'], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter(Boolean);
    const gatewayDev = () => `K1wg_${ids.n4!.slice(0, 8)}`;
    /** `ip -d link show` of a device: its kind is on the line after link/… */
    const linkDetails = (n: string, dev: string) => mesh.exec(n, 'ip', ['-d', 'link', 'show', dev]).stdout;
    const isKernelWg = (n: string, dev: string) => /^\s+wireguard\b/m.test(linkDetails(n, dev));
    const isTun = (n: string, dev: string) => /^\s+tun type tun\b/m.test(linkDetails(n, dev));
    const links = (n: string) => mesh.execOk(n, 'ip', ['-o', 'link', 'show']);

    /**
     * Captures every relay link and the uplink while n1 sends marked datagrams to both uplink
     * addresses: what each capture holds (the raw pcap bytes, and the IP protocols seen).
     */
    async function sendCaptured(): Promise<{
      marker: string;
      relay: { where: string; pcap: Buffer; protocols: string[] }[];
      uplink: Buffer;
    }> {
      const marker = randomBytes(16).toString('hex');
      const k = captures++;
      const start = (ns: string, iface: string, file: string): ChildProcess =>
        bed.spawn(ns, 'dumpcap', ['-q', '-P', '-i', iface, '-w', file, '-a', 'duration:120']);
      const files = RELAY_LINKS.map(([n, i]) => join(dir(n), `relay-${k}-${i}.pcap`));
      const upFile = join(dir('n4'), `uplink-${k}.pcap`);
      const all = [...files, upFile];
      const procs = [
        ...RELAY_LINKS.map(([n, i], j) => start(mesh.node(n).ns, i, files[j]!)),
        start(uplink, 'eth0', upFile),
      ];
      let stderr = '';
      for (const p of procs) p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = procs.map((p) => new Promise<void>((r) => p.once('exit', () => r())));
      try {
        // dumpcap writes the file's header once it captures
        await waitFor(
          'the captures running',
          () => all.every((f) => existsSync(f) && statSync(f).size >= 24),
          {
            timeoutMs: 60_000,
            intervalMs: 250,
          },
        );
        for (const to of [UP4, UP6])
          mesh.exec('n1', process.execPath, ['-e', SEND, to, marker], { timeoutMs: 60_000 });
        await new Promise((r) => setTimeout(r, 1500));
      } catch (e) {
        throw new Error(`${(e as Error).message}\ndumpcap: ${stderr}`);
      } finally {
        for (const p of procs) p.kill('SIGINT');
        await Promise.all(exited);
      }
      const relay = RELAY_LINKS.map(([n, i], j) => {
        const pcap = readFileSync(files[j]!);
        return { where: `${n} ${i}`, pcap, protocols: ipProtocols(pcap) };
      });
      return { marker, relay, uplink: readFileSync(upFile) };
    }

    /** Waits for both searches encrypted and the uplink reached; the state on failure. */
    async function waitEncrypted(): Promise<void> {
      try {
        await waitFor(
          'both searches encrypted and the uplink reached',
          () => encryptedSearches().join() === 'up4,up6' && reaches(),
          { timeoutMs: 180_000, intervalMs: 2000 },
        );
      } catch (e) {
        throw new Error(
          `${(e as Error).message}\nsearches ${encryptedSearches().join()} ping6 ${ping(6, UP6)} ping4 ${ping(4, UP4)}\n` +
            `n1 wg: ${mesh.exec('n1', 'wg', ['show', 'all', 'dump']).stdout}\nn4 wg: ${mesh.exec('n4', 'wg', ['show', 'all', 'dump']).stdout}\n` +
            `n1 links: ${links('n1')}\nn4 links: ${links('n4')}\nn4 routes: ${mesh.exec('n4', 'ip', ['route']).stdout}\n${logs()}`,
        );
      }
    }

    /** The tunnel carries the pings and the marker, and nothing of it shows on a relay link. */
    async function expectEncryptedLine(): Promise<void> {
      await waitEncrypted();
      expect(deviceOf('n1', UP4)).toBe(gatewayDev());
      expect(deviceOf('n1', UP6)).toBe(gatewayDev());
      // the gateway's way back goes into its receiving device
      expect(deviceOf('n4', '10.1.0.1')).toBe('K4wgIn');
      expect(deviceOf('n4', 'fdaa:1::1')).toBe('K4wgIn');
      const { marker, relay, uplink: up } = await sendCaptured();
      expect(up.includes(marker), 'the marker reaches the uplink').toBe(true);
      for (const r of relay) {
        expect(r.pcap.includes(marker), `marker on ${r.where}`).toBe(false);
        const encapsulated = r.protocols.filter((p) => ['6:4', '6:41', '4:4', '4:41'].includes(p));
        expect(encapsulated, `IP in IP on ${r.where}`).toEqual([]);
        // WireGuard's UDP does cross it
        expect(r.protocols.includes('6:17'), `UDP over IPv6 on ${r.where}`).toBe(true);
      }
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
      const wg = JSON.parse(ctl('n1', 'show', 'wg', '--json').stdout).rows as Array<Record<string, unknown>>;
      expect(wg.find((r) => r.dev === gatewayDev())).toMatchObject({ name: 'n4' });
      console.log(
        `crypt-tun: marker on the uplink, on none of ${relay.length} relay links (${relay.map((r) => r.protocols.length).join('/')} packets captured)`,
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
    afterAll(() => {
      bed?.cleanup();
      mesh?.cleanup();
      // after a failure: wireguard-go of this test's devices, and their sockets (one directory per machine)
      spawnSync('pkill', ['-KILL', '-f', 'wireguard-go -f K[1-4]wg']);
      for (const f of existsSync(UAPI_DIR) ? readdirSync(UAPI_DIR) : [])
        if (/^K[1-4]wg.*\.sock$/.test(f)) rmSync(join(UAPI_DIR, f), { force: true });
    });

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
