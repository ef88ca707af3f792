/**
 * The behaviour every Wgctrl backend must share, as a list of cases that a test file runs against
 * its own controller and device: the in-memory twin (unit), wireguard-go through the UAPI and the
 * `wg` tool (netns), the kernel (VM). Each case starts from a device without key and peers. Allowed
 * IPs are compared as sets: the kernel reports them in trie order.
 */
import { randomBytes } from 'node:crypto';
import { wgGeneratePrivateKey, wgKeyToBase64, wgPublicKey } from '@bmx7/crypto';
import { expect } from 'vitest';
import type { Wgctrl, WgDevice, WgPeer } from '../src/index.js';

export interface ComplianceCase {
  name: string;
  run(w: Wgctrl, device: string): Promise<void>;
}

const key = () => randomBytes(32).toString('base64');
const sorted = (xs: string[]) => [...xs].sort();
const peer = (d: WgDevice, k: string): WgPeer | undefined => d.peers.find((p) => p.publicKey === k);

async function reset(w: Wgctrl, dev: string): Promise<void> {
  await w.configureDevice(dev, { privateKey: null, fwmark: 0, replacePeers: true, peers: [] });
}

export const complianceCases: ComplianceCase[] = [
  {
    name: 'a device without key reads back without public key or peers',
    async run(w, dev) {
      const d = await w.getDevice(dev);
      expect(d.name).toBe(dev);
      expect(d.publicKey).toBeUndefined();
      expect(d.peers).toEqual([]);
      expect(d.fwmark).toBe(0);
    },
  },
  {
    name: 'private key, listen port and fwmark are set and cleared',
    async run(w, dev) {
      const priv = wgGeneratePrivateKey();
      await w.configureDevice(dev, { privateKey: wgKeyToBase64(priv), listenPort: 43917, fwmark: 0x5a });
      let d = await w.getDevice(dev);
      expect(d.publicKey).toBe(wgKeyToBase64(wgPublicKey(priv)));
      expect(d.listenPort).toBe(43917);
      expect(d.fwmark).toBe(0x5a);
      await w.configureDevice(dev, { privateKey: null, fwmark: 0 });
      d = await w.getDevice(dev);
      expect(d.publicKey).toBeUndefined();
      expect(d.fwmark).toBe(0);
    },
  },
  {
    name: 'a peer reads back with every field it was given',
    async run(w, dev) {
      const k = key();
      await w.configureDevice(dev, {
        peers: [
          {
            publicKey: k,
            presharedKey: key(),
            endpoint: '[fd7a::9]:4242',
            persistentKeepalive: 33,
            allowedIps: ['10.61.0.0/16', 'fd61::/48', '10.62.1.1'],
          },
        ],
      });
      const p = peer(await w.getDevice(dev), k);
      expect(p).toBeDefined();
      expect(p!.hasPresharedKey).toBe(true);
      expect(p!.endpoint).toBe('[fd7a::9]:4242');
      expect(p!.persistentKeepalive).toBe(33);
      expect(sorted(p!.allowedIps)).toEqual(sorted(['10.61.0.0/16', 'fd61::/48', '10.62.1.1/32']));
      expect(p!.lastHandshakeMs).toBe(0);
      await w.configureDevice(dev, {
        peers: [{ publicKey: k, presharedKey: null, persistentKeepalive: 0, endpoint: '192.0.2.7:1' }],
      });
      const q = peer(await w.getDevice(dev), k)!;
      expect([q.hasPresharedKey, q.persistentKeepalive, q.endpoint]).toEqual([false, 0, '192.0.2.7:1']);
    },
  },
  {
    name: 'allowed IPs are added to, replaced, and move to the newest owner',
    async run(w, dev) {
      const [a, b] = [key(), key()];
      await w.configureDevice(dev, {
        peers: [
          { publicKey: a, allowedIps: ['10.63.1.0/24'] },
          { publicKey: b, allowedIps: ['10.63.2.0/24'] },
        ],
      });
      await w.configureDevice(dev, { peers: [{ publicKey: a, allowedIps: ['10.63.3.0/24'] }] });
      expect(sorted(peer(await w.getDevice(dev), a)!.allowedIps)).toEqual(['10.63.1.0/24', '10.63.3.0/24']);
      await w.configureDevice(dev, {
        peers: [{ publicKey: a, replaceAllowedIps: true, allowedIps: ['fd63::/64'] }],
      });
      expect(peer(await w.getDevice(dev), a)!.allowedIps).toEqual(['fd63::/64']);
      await w.configureDevice(dev, { peers: [{ publicKey: a, allowedIps: ['10.63.2.0/24'] }] });
      const d = await w.getDevice(dev);
      expect(sorted(peer(d, a)!.allowedIps)).toEqual(['10.63.2.0/24', 'fd63::/64']);
      expect(peer(d, b)!.allowedIps).toEqual([]);
    },
  },
  {
    name: 'update-only never creates a peer; remove deletes one; replace-peers keeps only the listed',
    async run(w, dev) {
      const [a, b, c] = [key(), key(), key()];
      await w.configureDevice(dev, { peers: [{ publicKey: a }, { publicKey: b }] });
      await w.configureDevice(dev, {
        peers: [
          { publicKey: c, updateOnly: true },
          { publicKey: a, updateOnly: true, persistentKeepalive: 9 },
        ],
      });
      let d = await w.getDevice(dev);
      expect(sorted(d.peers.map((p) => p.publicKey))).toEqual(sorted([a, b]));
      expect(peer(d, a)!.persistentKeepalive).toBe(9);
      await w.configureDevice(dev, {
        peers: [
          { publicKey: b, remove: true },
          { publicKey: c, remove: true },
        ],
      });
      expect((await w.getDevice(dev)).peers.map((p) => p.publicKey)).toEqual([a]);
      await w.configureDevice(dev, {
        replacePeers: true,
        peers: [{ publicKey: c, allowedIps: ['10.64.0.1/32'] }],
      });
      d = await w.getDevice(dev);
      expect(d.peers.map((p) => [p.publicKey, p.allowedIps, p.persistentKeepalive])).toEqual([
        [c, ['10.64.0.1/32'], 0],
      ]);
    },
  },
  {
    name: 'syncDevice makes the device match and sends nothing when it already does',
    async run(w, dev) {
      const [a, b, c] = [key(), key(), key()];
      await w.configureDevice(dev, {
        peers: [
          { publicKey: a, allowedIps: ['10.65.1.0/24', '10.65.9.0/24'] },
          { publicKey: b, persistentKeepalive: 5 },
        ],
      });
      const want = {
        peers: [
          { publicKey: a, allowedIps: ['10.65.1.0/24'] },
          { publicKey: c, allowedIps: ['10.65.3.0/24'], persistentKeepalive: 7 },
        ],
      };
      await w.syncDevice(dev, want);
      await w.syncDevice(dev, want);
      const d = await w.getDevice(dev);
      expect(sorted(d.peers.map((p) => p.publicKey))).toEqual(sorted([a, c]));
      expect(peer(d, a)!.allowedIps).toEqual(['10.65.1.0/24']);
      expect(peer(d, c)).toMatchObject({ allowedIps: ['10.65.3.0/24'], persistentKeepalive: 7 });
    },
  },
  {
    name: 'an invalid change is refused whole, before anything is sent',
    async run(w, dev) {
      const a = key();
      const err = await w
        .configureDevice(dev, {
          fwmark: 3,
          peers: [{ publicKey: a }, { publicKey: key(), allowedIps: ['10.66.0.0/40'] }],
        })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'WgctrlError', code: 'ERR_WG_INVALID_CONFIG', device: dev });
      const d = await w.getDevice(dev);
      expect(d.fwmark).toBe(0);
      expect(d.peers).toEqual([]);
    },
  },
  {
    name: 'an unknown device is ERR_WG_NO_DEVICE',
    async run(w, dev) {
      const other = `${dev.slice(0, 12)}zz9`;
      await expect(w.getDevice(other)).rejects.toMatchObject({ code: 'ERR_WG_NO_DEVICE' });
      await expect(w.configureDevice(other, { fwmark: 1 })).rejects.toMatchObject({
        code: 'ERR_WG_NO_DEVICE',
      });
    },
  },
];

/** Runs one case from a clean device. */
export async function runCase(c: ComplianceCase, w: Wgctrl, dev: string): Promise<void> {
  await reset(w, dev);
  await c.run(w, dev);
}
