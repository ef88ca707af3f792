/**
 * Encrypted gateway tunnels (crypt-tun) across the reference C bmx7 (opt-in): set BMX7_REF_BIN to a
 * reference `bmx7` binary built outside this repository. Without it the suite is skipped and says why.
 *
 *   n1 bmx7d client [eth1] ── [eth1] n2 reference [eth2] ── [eth1] n3 bmx7d gateway [up0] ── uplink
 *
 * The reference relay runs with its default options and knows neither WIREGUARD (type 24) nor
 * CRYPT_TUN (type 25): it must still carry n3's description with them to n1, so that n1 admits n3's
 * WireGuard key, selects n3's networks encrypted (cryptTun=2) and reaches the uplink through
 * wireguard-go. UDP datagrams carrying a random 32-byte marker go from n1 to the uplink host while
 * both of n2's links are captured: the marker arrives on the uplink and is seen on neither link,
 * and no IPv6 packet of next header 4 or 41 crosses one. The reference still routes to both ends.
 *
 * Device names include each node's tunDevName (I1, I3): wireguard-go's sockets share one directory
 * on the machine, so no other test's nodes make devices of the same names.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUplink, bmx7dSpec, ctlArgv, daemonLog, primaryOf, tableRoutes, UPLINK } from './test/helpers.js';
import { REF, refShow, refSpec } from './test/reference.js';
import { makeKeys } from './test/trust.js';

/** wireguard-go's socket directory. */
const UAPI_DIR = '/var/run/wireguard';
/** This test's WireGuard devices (and their sockets): those of tunDevName I1 and I3. */
const OWN_DEV = /^I[13]wg/;
const UP4 = UPLINK.v4;
const UP6 = UPLINK.v6;

const args: Record<string, string[]> = {
  n1: [
    'tunDevName=I1',
    'tunDev=dflt /tun6Address=fdaa:1::1/64 /tun4Address=10.1.0.1/24',
    'tunOut=up6 /network=2001:db8:1::/64',
    'tunOut=up4 /network=192.0.2.0/24',
    'cryptTun=2',
  ],
  n3: [
    'tunDevName=I3',
    'tunDev=dflt /tun6Address=fdaa:3::1/64 /tun4Address=10.3.0.1/24',
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

/** The relay links: both links of the reference node. */
const RELAY_LINKS = [
  ['n2', 'eth1'],
  ['n2', 'eth2'],
] as const;

if (!REF) {
  describe('crypt-tun interop with the reference bmx7', () => {
    it.skip('skipped: set BMX7_REF_BIN to a reference bmx7 binary built outside the repository', () => {});
  });
} else {
  describeNetns('crypt-tun interop with the reference bmx7', () => {
    let mesh: Mesh | undefined;
    let bed: NetnsBed | undefined;
    let uplink: string;
    let ids: Record<string, string>;
    let ip: Record<string, string>;
    const m = () => mesh as Mesh;
    const dir = (n: string) => m().node(n).dir;
    const ctl = (n: string, ...a: string[]) =>
      spawnSync(process.execPath, ctlArgv(['--runtime-dir', join(dir(n), 'run'), ...a]), {
        encoding: 'utf8',
        timeout: 20_000,
      });
    const rowsOf = (n: string, table: string) => {
      const r = ctl(n, 'show', table, '--json');
      return r.status === 0 ? (JSON.parse(r.stdout).rows as Array<Record<string, unknown>>) : [];
    };
    const ping = (family: 4 | 6, to: string) =>
      m().exec('n1', 'ping', [`-${family}`, '-c', '2', '-i', '0.2', '-W', '1', to]).status === 0;
    const reaches = () => ping(6, UP6) && ping(4, UP4);
    const deviceOf = (n: string, to: string) =>
      / dev (\S+)/.exec(m().exec(n, 'ip', ['route', 'get', to]).stdout)?.[1];
    const encryptedSearches = () =>
      rowsOf('n1', 'tunnels')
        .filter((r) => r.crypt === 'encrypted')
        .map((r) => r.tunOut)
        .sort();
    const gatewayDev = () => `I1wg_${ids.n3!.slice(0, 8)}`;
    /** n3's own WireGuard public key, read from its receiving device. */
    const gatewayKey = () => m().exec('n3', 'wg', ['show', 'I3wgIn', 'public-key']).stdout.trim();
    const peerOfN1 = () => rowsOf('n1', 'wg').find((r) => r.name === 'n3');
    const refOriginators = () => refShow(m(), 'n2', 'originators');
    const state = () =>
      `searches ${encryptedSearches().join()} ping6 ${ping(6, UP6)} ping4 ${ping(4, UP4)}\n` +
      `n1 wg rows: ${JSON.stringify(rowsOf('n1', 'wg'))}\n` +
      `n1 wg: ${m().exec('n1', 'wg', ['show', 'all', 'dump']).stdout}\nn3 wg: ${m().exec('n3', 'wg', ['show', 'all', 'dump']).stdout}\n` +
      `n1 tunnels: ${JSON.stringify(rowsOf('n1', 'tunnels'))}\n` +
      `n2 originators:\n${refOriginators()}\n` +
      ['n1', 'n2', 'n3'].map((n) => `--- ${n} ---\n${daemonLog(m(), n, 4000)}`).join('\n');

    /**
     * Captures both relay links and the uplink while n1 sends marked datagrams to both uplink
     * addresses: what each capture holds (the raw pcap bytes, and the IPv6 next headers seen).
     */
    async function sendCaptured(): Promise<{
      marker: string;
      relay: { where: string; pcap: Buffer; nextHeaders: string[] }[];
      uplink: Buffer;
    }> {
      const b = bed as NetnsBed;
      const marker = randomBytes(16).toString('hex');
      const start = (ns: string, iface: string, file: string): ChildProcess =>
        b.spawn(ns, 'tshark', ['-q', '-i', iface, '-w', file, '-a', 'duration:5']);
      const files = RELAY_LINKS.map(([n, i]) => join(dir(n), `relay-${i}.pcap`));
      const upFile = join(dir('n3'), 'uplink.pcap');
      const procs = [
        ...RELAY_LINKS.map(([n, i], j) => start(m().node(n).ns, i, files[j]!)),
        start(uplink, 'eth0', upFile),
      ];
      const exited = procs.map((p) => new Promise<void>((r) => p.once('exit', () => r())));
      await new Promise((r) => setTimeout(r, 2000));
      for (const to of [UP4, UP6]) m().exec('n1', process.execPath, ['-e', SEND, to, marker]);
      await Promise.all(exited);
      const relay = RELAY_LINKS.map(([n, i], j) => ({
        where: `${n} ${i}`,
        pcap: readFileSync(files[j]!),
        nextHeaders: m()
          .execOk(n, 'tshark', ['-r', files[j]!, '-T', 'fields', '-e', 'ipv6.nxt'])
          .split('\n')
          .filter(Boolean),
      }));
      return { marker, relay, uplink: readFileSync(upFile) };
    }

    /** Kills this test's wireguard-go (by pid, only inside its namespaces) and removes its sockets. */
    function removeWireguard(): void {
      for (const node of mesh?.nodes.values() ?? []) {
        const pids = spawnSync('ip', ['netns', 'pids', node.ns], { encoding: 'utf8' }).stdout ?? '';
        for (const pid of pids.split(/\s+/).filter(Boolean)) {
          let cmd = '';
          try {
            cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
          } catch {
            continue;
          }
          const dev = /wireguard-go -f (\S+)/.exec(cmd)?.[1];
          if (!dev || !OWN_DEV.test(dev)) continue;
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // gone already
          }
        }
      }
      for (const f of existsSync(UAPI_DIR) ? readdirSync(UAPI_DIR) : [])
        if (OWN_DEV.test(f) && f.endsWith('.sock')) rmSync(join(UAPI_DIR, f), { force: true });
    }

    beforeAll(async () => {
      mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'cw' });
      bed = createNetnsBed('cx');
      uplink = addUplink(mesh, bed, 'n3');
      ids = makeKeys(mesh);
      const bmx = bmx7dSpec((n) => [
        'linkTimeout=10000',
        ...(args[n.name] ?? []).flatMap((a) => a.split(' ')),
      ]);
      mesh.startAll((n) => (n.name === 'n2' ? refSpec(n) : bmx(n)));
      ip = {};
      for (const n of ['n1', 'n2', 'n3'])
        ip[n] = await waitFor(`primary address of ${n}`, () => primaryOf(m(), n), { timeoutMs: 30_000 });
    }, 60_000);
    afterAll(() => {
      removeWireguard();
      bed?.cleanup();
      mesh?.cleanup();
      // a wireguard-go that outlived its namespace's cleanup leaves its socket behind
      removeWireguard();
      mesh = undefined;
      bed = undefined;
    });

    it('a reference daemon as a relay in the middle: it relays the new TLVs (WIREGUARD type 24, CRYPT_TUN type 25, PQ_KEM type 26), and the two bmx7d ends still build their encrypted tunnel, with a post-quantum PSK, across it', async () => {
      // n3's WireGuard key reached n1 only inside n3's description, as the reference relayed it
      try {
        await waitFor(
          'n1 has n3 as a WireGuard peer',
          () => {
            const key = gatewayKey();
            return key !== '' && peerOfN1()?.publicKey === key;
          },
          { timeoutMs: 90_000, intervalMs: 1000 },
        );
        await waitFor(
          'both searches encrypted and the uplink reached',
          () => encryptedSearches().join() === 'up4,up6' && reaches(),
          { timeoutMs: 90_000, intervalMs: 1000 },
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}\n${state()}`);
      }
      expect(peerOfN1()).toMatchObject({
        name: 'n3',
        nodeId: ids.n3!.toLowerCase(),
        publicKey: gatewayKey(),
      });
      const used = rowsOf('n1', 'tunnels').filter(
        (r) => typeof r.tunName === 'string' && r.tunName !== '---',
      );
      expect(used.map((r) => [r.tunOut, r.crypt, r.tunName]).sort()).toEqual([
        ['up4', 'encrypted', gatewayDev()],
        ['up6', 'encrypted', gatewayDev()],
      ]);
      expect(deviceOf('n1', UP4)).toBe(gatewayDev());
      expect(deviceOf('n1', UP6)).toBe(gatewayDev());
      // n3's ML-KEM key (PQ_KEM, 1,188 bytes of referenced description content) crossed the
      // reference too: the two ends agreed a post-quantum PSK across it
      await waitFor('a post-quantum PSK on n1', () => peerOfN1()?.psk === 'pq', { timeoutMs: 20_000 });
      expect(ping(4, UP4), 'ping -4 through the tunnel').toBe(true);
      expect(ping(6, UP6), 'ping -6 through the tunnel').toBe(true);

      const { marker, relay, uplink: up } = await sendCaptured();
      expect(up.includes(marker), 'the marker reaches the uplink').toBe(true);
      for (const r of relay) {
        expect(r.pcap.includes(marker), `marker on ${r.where}`).toBe(false);
        const encapsulated = r.nextHeaders.filter((h) => ['4', '41'].includes(h.split(',')[0]!));
        expect(encapsulated, `IPv6 next header 4/41 on ${r.where}`).toEqual([]);
        // WireGuard's UDP does cross it
        expect(
          r.nextHeaders.some((h) => h.split(',')[0] === '17'),
          `UDP on ${r.where}`,
        ).toBe(true);
      }

      // the reference still routes to both bmx7d ends and lists them by name
      const routes = tableRoutes(m(), 'n2');
      expect(routes).toContain(ip.n1);
      expect(routes).toContain(ip.n3);
      const theirs = refOriginators();
      expect(theirs).toMatch(/ n1 /);
      expect(theirs).toMatch(/ n3 /);
      console.log(
        `crypt-tun across the reference: marker on the uplink, on neither of n2's links (${relay.map((r) => r.nextHeaders.length).join('/')} packets captured)`,
      );
    }, 200_000);
  });
}
