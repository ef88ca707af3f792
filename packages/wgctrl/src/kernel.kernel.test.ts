/**
 * The kernel backend on a kernel with WireGuard (the QEMU VM: `pnpm test:vm wgctrl`): devices made
 * through rtnetlink and configured through generic netlink, inside namespaces, checked against
 * `wg show`, with traffic; and a kernel device talking to a wireguard-go one.
 *
 *   ns a: ka (10.78.9.1) ── veth fd78:1::1 ═══ fd78:1::2 veth ── kb (10.78.9.2) :ns b
 *   ns b: ub, a wireguard-go device (10.78.10.2)  ⇄  ns a: ka2, kernel (10.78.10.1)
 */
import { randomBytes } from 'node:crypto';
import { wgGeneratePresharedKey, wgGeneratePrivateKey, wgKeyToBase64, wgPublicKey } from '@bmx7/crypto';
import { describeKernel } from '@bmx7/testenv/env';
import { createNetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { complianceCases, runCase } from '../test/compliance.js';
import { createWgctrl } from './index.js';
import type { Wgctrl } from './types.js';

const keyPair = () => {
  const priv = wgGeneratePrivateKey();
  return { priv: wgKeyToBase64(priv), pub: wgKeyToBase64(wgPublicKey(priv)) };
};

describeKernel('wgctrl kernel backend (generic netlink)', ['wireguard'], () => {
  const bed = createNetnsBed('wgk');
  let a = '';
  let b = '';
  let ka: Wgctrl;
  let kb: Wgctrl;
  const devA = bed.name('ka');
  const devB = bed.name('kb');
  const A = keyPair();
  const B = keyPair();
  const psk = wgKeyToBase64(wgGeneratePresharedKey());
  const show = (ns: string, dev: string, what: string) => bed.execOk(ns, 'wg', ['show', dev, what]).trim();

  beforeAll(() => {
    a = bed.ns('a');
    b = bed.ns('b');
    const [va, vb] = bed.veth(a, b);
    bed.execOk(a, 'ip', ['addr', 'add', 'fd78:1::1/64', 'dev', va, 'nodad']);
    bed.execOk(b, 'ip', ['addr', 'add', 'fd78:1::2/64', 'dev', vb, 'nodad']);
    ka = createWgctrl({ netns: a });
    kb = createWgctrl({ backend: 'kernel', netns: b });
  });

  afterAll(async () => {
    await ka?.close();
    await kb?.close();
    bed.cleanup();
  });

  it('auto picks the kernel; devices are created through rtnetlink inside the namespace', async () => {
    expect(ka.backend).toBe('kernel');
    await ka.createDevice(devA, { up: true });
    await kb.createDevice(devB, { up: true });
    expect(bed.execOk(a, 'ip', ['-d', 'link', 'show', devA])).toMatch(/wireguard/);
    expect(bed.exec(b, 'ip', ['link', 'show', devA]).status).not.toBe(0);
    expect(await ka.listDevices()).toContain(devA);
    await expect(ka.createDevice(devA)).rejects.toMatchObject({
      code: 'ERR_WG_EXISTS',
      errno: 17,
      backend: 'kernel',
    });
    bed.execOk(a, 'ip', ['addr', 'add', '10.78.9.1/24', 'dev', devA]);
    bed.execOk(b, 'ip', ['addr', 'add', '10.78.9.2/24', 'dev', devB]);
  });

  it('two kernel devices configured through genl complete a handshake and ping', async () => {
    await ka.configureDevice(devA, {
      privateKey: A.priv,
      listenPort: 51820,
      fwmark: 0x77,
      peers: [
        {
          publicKey: B.pub,
          presharedKey: psk,
          endpoint: '[fd78:1::2]:51821',
          allowedIps: ['10.78.9.2/32'],
          persistentKeepalive: 25,
        },
      ],
    });
    await kb.configureDevice(devB, {
      privateKey: B.priv,
      listenPort: 51821,
      peers: [
        { publicKey: A.pub, presharedKey: psk, endpoint: '[fd78:1::1]:51820', allowedIps: ['10.78.9.1/32'] },
      ],
    });
    // A was configured first, so its first initiation went unanswered: the retry comes within 5 s.
    await waitFor('handshake', async () => (await ka.getDevice(devA)).peers[0]!.lastHandshakeMs > 0, {
      timeoutMs: 30_000,
    });
    expect(bed.execOk(a, 'ping', ['-c', '2', '-W', '3', '10.78.9.2'])).toMatch(/2 received/);
  });

  it('reads back what `wg show` shows', async () => {
    const dev = await ka.getDevice(devA);
    expect(dev).toMatchObject({ name: devA, publicKey: A.pub, listenPort: 51820, fwmark: 0x77 });
    expect(show(a, devA, 'public-key')).toBe(A.pub);
    expect(show(a, devA, 'fwmark')).toBe('0x77');
    const p = dev.peers[0]!;
    expect(p).toMatchObject({
      publicKey: B.pub,
      hasPresharedKey: true,
      endpoint: '[fd78:1::2]:51821',
      allowedIps: ['10.78.9.2/32'],
      persistentKeepalive: 25,
    });
    expect(show(a, devA, 'endpoints')).toBe(`${B.pub}\t${p.endpoint}`);
    expect(show(a, devA, 'allowed-ips')).toBe(`${B.pub}\t10.78.9.2/32`);
    expect(show(a, devA, 'latest-handshakes')).toBe(`${B.pub}\t${Math.floor(p.lastHandshakeMs / 1000)}`);
    const oracle = createWgctrl({ backend: 'wg', netns: a });
    const viaWg = await oracle.getDevice(devA);
    expect(viaWg.peers[0]!.allowedIps).toEqual(p.allowedIps);
    expect(viaWg.publicKey).toBe(dev.publicKey);
  });

  it('configures 1,000 peers in several SET messages and reads them back from a multi-part dump', async () => {
    const peers = Array.from({ length: 1000 }, (_, i) => ({
      publicKey: randomBytes(32).toString('base64'),
      ...(i % 2 === 0 ? { endpoint: `[fd78:5::${(i + 1).toString(16)}]:${20000 + i}` } : {}),
      allowedIps: [`10.${100 + (i >> 8)}.${i & 255}.0/24`, `fd78:${(0x100 + i).toString(16)}::/64`],
    }));
    await kb.configureDevice(devB, {
      replacePeers: true,
      peers: [
        ...peers,
        { publicKey: A.pub, presharedKey: psk, endpoint: '[fd78:1::1]:51820', allowedIps: ['10.78.9.1/32'] },
      ],
    });
    const dev = await kb.getDevice(devB);
    expect(dev.peers).toHaveLength(1001);
    const got = new Map(dev.peers.map((p) => [p.publicKey, p]));
    for (const p of peers) {
      expect(got.get(p.publicKey)?.allowedIps).toEqual(p.allowedIps);
      expect(got.get(p.publicKey)?.endpoint).toBe(p.endpoint);
    }
    expect(show(b, devB, 'peers').split('\n')).toHaveLength(1001);
    // REPLACE_PEERS re-created peer A on B's side, so the old session is gone there: A starts a
    // new handshake once its packets go unanswered (about 15 s), and the tunnel carries traffic again.
    await waitFor(
      'ping after the peers were replaced',
      () => bed.exec(a, 'ping', ['-c', '1', '-W', '2', '10.78.9.2']).status === 0,
      {
        timeoutMs: 60_000,
      },
    );
  });

  it('a kernel device and a wireguard-go device (UAPI) complete a handshake and ping', async () => {
    const devK = bed.name('ka2');
    const devU = bed.name('ub');
    const K = keyPair();
    const U = keyPair();
    const ub = createWgctrl({ backend: 'uapi', netns: b, wireguardGoEnv: { LOG_LEVEL: 'error' } });
    try {
      await ka.createDevice(devK, { up: true });
      await ub.createDevice(devU, { up: true });
      bed.execOk(a, 'ip', ['addr', 'add', '10.78.10.1/24', 'dev', devK]);
      bed.execOk(b, 'ip', ['addr', 'add', '10.78.10.2/24', 'dev', devU]);
      await ka.configureDevice(devK, {
        privateKey: K.priv,
        listenPort: 51830,
        peers: [{ publicKey: U.pub, endpoint: '[fd78:1::2]:51831', allowedIps: ['10.78.10.2/32'] }],
      });
      await ub.configureDevice(devU, {
        privateKey: U.priv,
        listenPort: 51831,
        peers: [
          {
            publicKey: K.pub,
            endpoint: '[fd78:1::1]:51830',
            allowedIps: ['10.78.10.1/32'],
            persistentKeepalive: 25,
          },
        ],
      });
      await waitFor('handshake', async () => (await ka.getDevice(devK)).peers[0]!.lastHandshakeMs > 0, {
        timeoutMs: 30_000,
      });
      expect(bed.execOk(a, 'ping', ['-c', '2', '-W', '3', '10.78.10.2'])).toMatch(/2 received/);
      expect((await ub.getDevice(devU)).peers[0]!.lastHandshakeMs).toBeGreaterThan(0);
      // In auto mode the kernel controller routes the userspace device to its UAPI socket.
      const auto = createWgctrl({ netns: b });
      expect((await auto.getDevice(devU)).publicKey).toBe(U.pub);
      await auto.close();
    } finally {
      await ub.close();
    }
  });

  for (const c of complianceCases) {
    it(`compliance (kernel): ${c.name}`, async () => {
      const dev = bed.name('kc');
      if (!(await kb.listDevices()).includes(dev)) await kb.createDevice(dev, { up: true });
      await runCase(c, kb, dev);
    });
  }

  it('deletes kernel devices', async () => {
    await ka.deleteDevice(devA);
    expect(bed.exec(a, 'ip', ['link', 'show', devA]).status).not.toBe(0);
    await expect(ka.getDevice(devA)).rejects.toMatchObject({ code: 'ERR_WG_NO_DEVICE' });
    await expect(ka.deleteDevice(devA)).rejects.toMatchObject({ code: 'ERR_WG_NO_DEVICE' });
  });
});
