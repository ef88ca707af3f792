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
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  captureWhileSending,
  cleanupCryptTest,
  encryptedSearches,
  expectOnlyWireguardOnRelays,
  gatewayDevName,
  lineArgs,
  relayLinks,
} from './test/crypt.js';
import {
  addUplink,
  bmx7dSpec,
  ctlFor,
  daemonLog,
  primaryOf,
  routeDev,
  showRows,
  tableRoutes,
  UPLINK,
} from './test/helpers.js';
import { REF, refShow, refSpec } from './test/reference.js';
import { makeKeys } from './test/trust.js';

/** This test's WireGuard devices (and their sockets): those of tunDevName I1 and I3. */
const OWN_DEV = /^I[13]wg/;
const UP4 = UPLINK.v4;
const UP6 = UPLINK.v6;

/** The bmx7d ends' arguments (n2, the reference, runs with its defaults). */
const args = lineArgs('I', 3);
/** The relay links: both links of the reference node. */
const RELAY_LINKS = relayLinks(3);

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
    const ctl = ctlFor(m);
    const rowsOf = (n: string, table: string) => showRows(ctl, n, table);
    const ping = (family: 4 | 6, to: string) =>
      m().exec('n1', 'ping', [`-${family}`, '-c', '2', '-i', '0.2', '-W', '1', to]).status === 0;
    const reaches = () => ping(6, UP6) && ping(4, UP4);
    const deviceOf = (n: string, to: string) => routeDev(m(), n, to);
    const searches = () => encryptedSearches(rowsOf('n1', 'tunnels'));
    const gatewayDev = () => gatewayDevName('I1', ids.n3!);
    /** n3's own WireGuard public key, read from its receiving device. */
    const gatewayKey = () => m().exec('n3', 'wg', ['show', 'I3wgIn', 'public-key']).stdout.trim();
    const peerOfN1 = () => rowsOf('n1', 'wg').find((r) => r.name === 'n3');
    const refOriginators = () => refShow(m(), 'n2', 'originators');
    const state = () =>
      `searches ${searches().join()} ping6 ${ping(6, UP6)} ping4 ${ping(4, UP4)}\n` +
      `n1 wg rows: ${JSON.stringify(rowsOf('n1', 'wg'))}\n` +
      `n1 wg: ${m().exec('n1', 'wg', ['show', 'all', 'dump']).stdout}\nn3 wg: ${m().exec('n3', 'wg', ['show', 'all', 'dump']).stdout}\n` +
      `n1 tunnels: ${JSON.stringify(rowsOf('n1', 'tunnels'))}\n` +
      `n2 originators:\n${refOriginators()}\n` +
      ['n1', 'n2', 'n3'].map((n) => `--- ${n} ---\n${daemonLog(m(), n, 4000)}`).join('\n');

    /** Both relay links and the uplink captured while n1 sends marked datagrams to both uplink hosts. */
    const sendCaptured = () =>
      captureWhileSending({ mesh: m(), bed: bed as NetnsBed, links: RELAY_LINKS, uplink, gateway: 'n3' });

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
      // after a failure too: wireguard-go of this test's devices, and their sockets
      cleanupCryptTest(OWN_DEV, mesh, bed);
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
          () => searches().join() === 'up4,up6' && reaches(),
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

      const captured = await sendCaptured();
      expectOnlyWireguardOnRelays(captured);

      // the reference still routes to both bmx7d ends and lists them by name
      const routes = tableRoutes(m(), 'n2');
      expect(routes).toContain(ip.n1);
      expect(routes).toContain(ip.n3);
      const theirs = refOriginators();
      expect(theirs).toMatch(/ n1 /);
      expect(theirs).toMatch(/ n3 /);
      console.log(
        `crypt-tun across the reference: marker on the uplink, on neither of n2's links (${captured.relay.map((r) => r.protocols.length).join('/')} packets captured)`,
      );
    }, 200_000);
  });
}
