/**
 * wireguard-go devices in two namespaces, configured only through wgctrl (UAPI backend), checked
 * against `wg show` (the oracle) and with traffic through the tunnel.
 *
 *   ns a: wa (10.77.9.1, fd77:9::1) ── veth fd77:1::1 ═══ fd77:1::2 veth ── wb (10.77.9.2, fd77:9::2) :ns b
 *   ns a: wc (1,000 peers; error cases)
 */
import { existsSync } from 'node:fs';
import { wgGeneratePresharedKey, wgGeneratePrivateKey, wgKeyToBase64, wgPublicKey } from '@bmx7/crypto';
import { describeNetns, kernelSkipReason, wireguardGoPath } from '@bmx7/testenv/env';
import { createNetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { complianceCases, runCase } from '../test/compliance.js';
import { createWgctrl } from './index.js';
import type { Wgctrl, WgDevice } from './types.js';

const keyPair = () => {
  const priv = wgGeneratePrivateKey();
  return { priv: wgKeyToBase64(priv), pub: wgKeyToBase64(wgPublicKey(priv)) };
};

describeNetns('wgctrl with wireguard-go (UAPI) in two namespaces', () => {
  if (!wireguardGoPath()) throw new Error('wireguard-go is not installed (apt-get install wireguard-go)');
  const bed = createNetnsBed('wgc');
  let a = '';
  let b = '';
  let wa: Wgctrl;
  let wb: Wgctrl;
  const devA = bed.name('wa');
  const devB = bed.name('wb');
  const devC = bed.name('wc');
  const devD = bed.name('wd');
  const A = keyPair();
  const B = keyPair();
  const psk = wgKeyToBase64(wgGeneratePresharedKey());
  const addAddrs = (ns: string, dev: string, n: number) => {
    bed.execOk(ns, 'ip', ['addr', 'replace', `10.77.9.${n}/24`, 'dev', dev]);
    bed.execOk(ns, 'ip', ['addr', 'replace', `fd77:9::${n}/64`, 'dev', dev, 'nodad']);
  };
  const wgShow = (dev: string, what: string) => bed.execOk(a, 'wg', ['show', dev, what]).trim();

  beforeAll(async () => {
    a = bed.ns('a');
    b = bed.ns('b');
    const [va, vb] = bed.veth(a, b);
    bed.execOk(a, 'ip', ['addr', 'add', 'fd77:1::1/64', 'dev', va, 'nodad']);
    bed.execOk(b, 'ip', ['addr', 'add', 'fd77:1::2/64', 'dev', vb, 'nodad']);
    const env = { LOG_LEVEL: 'error' };
    wa = createWgctrl({
      backend: 'uapi',
      netns: a,
      wireguardGoEnv: env,
      onRestart: (d) => addAddrs(a, d, 1),
    });
    wb = createWgctrl({
      backend: 'uapi',
      netns: b,
      wireguardGoEnv: env,
      onRestart: (d) => addAddrs(b, d, 2),
    });
    await wa.createDevice(devA, { up: true });
    await wb.createDevice(devB, { up: true });
    addAddrs(a, devA, 1);
    addAddrs(b, devB, 2);
  });

  afterAll(async () => {
    await wa?.close();
    await wb?.close();
    bed.cleanup();
    for (const d of [devA, devB, devC, devD]) expect(existsSync(`/var/run/wireguard/${d}.sock`)).toBe(false);
  });

  it('completes a handshake and carries IPv4 and IPv6 pings', async () => {
    await wa.configureDevice(devA, {
      privateKey: A.priv,
      listenPort: 51820,
      peers: [
        {
          publicKey: B.pub,
          presharedKey: psk,
          endpoint: '[fd77:1::2]:51821',
          allowedIps: ['10.77.9.2/32', 'fd77:9::2/128'],
          persistentKeepalive: 25,
        },
      ],
    });
    await wb.configureDevice(devB, {
      privateKey: B.priv,
      listenPort: 51821,
      peers: [
        {
          publicKey: A.pub,
          presharedKey: psk,
          endpoint: '[fd77:1::1]:51820',
          allowedIps: ['10.77.9.1/32', 'fd77:9::1/128'],
          persistentKeepalive: 25,
        },
      ],
    });
    await waitFor('handshake', async () => (await wa.getDevice(devA)).peers[0]!.lastHandshakeMs > 0);
    expect(bed.execOk(a, 'ping', ['-c', '2', '-W', '2', '10.77.9.2'])).toMatch(/2 received/);
    expect(bed.execOk(a, 'ping', ['-6', '-c', '2', '-W', '2', 'fd77:9::2'])).toMatch(/2 received/);
    const dev = await wa.getDevice(devA);
    expect(dev.peers[0]!.rxBytes).toBeGreaterThan(0);
    expect(dev.peers[0]!.txBytes).toBeGreaterThan(0);
  });

  it('reads back what `wg show` shows', async () => {
    const dev = await wa.getDevice(devA);
    expect(dev.publicKey).toBe(A.pub);
    expect(wgShow(devA, 'public-key')).toBe(A.pub);
    expect(wgShow(devA, 'listen-port')).toBe(String(dev.listenPort));
    expect(wgShow(devA, 'fwmark')).toBe('off');
    expect(wgShow(devA, 'peers')).toBe(B.pub);
    const p = dev.peers[0]!;
    expect(wgShow(devA, 'endpoints')).toBe(`${B.pub}\t${p.endpoint}`);
    expect(wgShow(devA, 'allowed-ips')).toBe(`${B.pub}\t${p.allowedIps.join(' ')}`);
    expect(wgShow(devA, 'persistent-keepalive')).toBe(`${B.pub}\t${p.persistentKeepalive}`);
    expect(wgShow(devA, 'latest-handshakes')).toBe(`${B.pub}\t${Math.floor(p.lastHandshakeMs / 1000)}`);
    const [rx, tx] = wgShow(devA, 'transfer').split('\t').slice(1).map(Number);
    expect(rx).toBeGreaterThanOrEqual(p.rxBytes);
    expect(tx).toBeGreaterThanOrEqual(p.txBytes);
    expect(p.hasPresharedKey).toBe(true);
    // And the wg-tool backend (the oracle) reads the same device.
    const oracle = createWgctrl({ backend: 'wg', netns: a });
    const viaWg = await oracle.getDevice(devA);
    const secs = (d: WgDevice) => ({
      ...d,
      peers: d.peers.map((x) => ({
        ...x,
        lastHandshakeMs: Math.floor(x.lastHandshakeMs / 1000),
        rxBytes: 0,
        txBytes: 0,
      })),
    });
    expect(secs(viaWg)).toEqual(secs(dev));
    expect(await oracle.listDevices()).toEqual(expect.arrayContaining([devA, devB]));
  });

  it('syncDevice adds and removes peers without disturbing the running session', async () => {
    const before = (await wa.getDevice(devA)).peers[0]!;
    const extra = keyPair().pub;
    const sync = (more: { publicKey: string; allowedIps: string[] }[]) =>
      wa.syncDevice(devA, {
        peers: [
          {
            publicKey: B.pub,
            presharedKey: psk,
            allowedIps: ['10.77.9.2/32', 'fd77:9::2/128'],
            persistentKeepalive: 25,
          },
          ...more,
        ],
      });
    await sync([{ publicKey: extra, allowedIps: ['10.77.99.0/24'] }]);
    let dev = await wa.getDevice(devA);
    expect(dev.peers.map((p) => p.publicKey).sort()).toEqual([B.pub, extra].sort());
    await sync([]);
    dev = await wa.getDevice(devA);
    expect(dev.peers.map((p) => p.publicKey)).toEqual([B.pub]);
    // Peer B was never touched: same session, same endpoint, and traffic flows at once.
    expect(dev.peers[0]!.lastHandshakeMs).toBe(before.lastHandshakeMs);
    expect(dev.peers[0]!.endpoint).toBe(before.endpoint);
    expect(bed.execOk(a, 'ping', ['-c', '1', '-W', '2', '10.77.9.2'])).toMatch(/1 received/);
  });

  it('restarts a killed wireguard-go, reapplies the configuration, and the tunnel carries traffic again', async () => {
    const [sup] = wa.supervised();
    expect(sup).toMatchObject({ name: devA, restarts: 0 });
    const oldPid = sup!.pid!;
    process.kill(oldPid, 'SIGKILL');
    const back = await waitFor('restart', () =>
      wa.supervised().find((s) => s.restarts === 1 && s.pid !== undefined && s.pid !== oldPid),
    );
    expect(back.pid).not.toBe(oldPid);
    const dev = await wa.getDevice(devA);
    expect(dev.publicKey).toBe(A.pub);
    expect(dev.listenPort).toBe(51820);
    expect(dev.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIps, p.hasPresharedKey])).toEqual([
      [B.pub, '[fd77:1::2]:51821', ['10.77.9.2/32', 'fd77:9::2/128'], true],
    ]);
    await waitFor(
      'ping through the restarted device',
      () => bed.exec(a, 'ping', ['-c', '1', '-W', '1', '10.77.9.2']).status === 0,
      { timeoutMs: 30_000 },
    );
    expect(bed.execOk(a, 'ping', ['-6', '-c', '2', '-W', '2', 'fd77:9::2'])).toMatch(/2 received/);
  });

  it('configures 1,000 peers and reads them back intact', async () => {
    await wa.createDevice(devC, { up: true });
    const peers = Array.from({ length: 1000 }, (_, i) => ({
      publicKey: keyPair().pub,
      ...(i % 3 === 0 ? { presharedKey: wgKeyToBase64(wgGeneratePresharedKey()) } : {}),
      ...(i % 2 === 0
        ? {
            endpoint:
              i % 4 === 0 ? `192.0.2.${i % 250}:${10000 + i}` : `[fd77:5::${i.toString(16)}]:${20000 + i}`,
          }
        : {}),
      persistentKeepalive: i % 5 === 0 ? 25 : 0,
      allowedIps: [`10.${100 + (i >> 8)}.${i & 255}.0/24`, `fd77:${(0x100 + i).toString(16)}::/64`],
    }));
    await wa.configureDevice(devC, { privateKey: keyPair().priv, replacePeers: true, peers });
    const dev = await wa.getDevice(devC);
    expect(dev.peers).toHaveLength(1000);
    const want = peers.map((p) => ({
      publicKey: p.publicKey,
      hasPresharedKey: p.presharedKey !== undefined,
      endpoint: p.endpoint,
      allowedIps: p.allowedIps,
      persistentKeepalive: p.persistentKeepalive,
    }));
    const got = dev.peers.map((p) => ({
      publicKey: p.publicKey,
      hasPresharedKey: p.hasPresharedKey,
      endpoint: p.endpoint,
      allowedIps: p.allowedIps,
      persistentKeepalive: p.persistentKeepalive,
    }));
    expect(new Set(got.map((g) => JSON.stringify(g)))).toEqual(new Set(want.map((w) => JSON.stringify(w))));
    // `wg show` lists the same peers and allowed IPs.
    const lines = wgShow(devC, 'allowed-ips').split('\n');
    expect(lines).toHaveLength(1000);
    const byKey = new Map(dev.peers.map((p) => [p.publicKey, p.allowedIps.join(' ')]));
    for (const l of lines) {
      const [k, ips] = l.split('\t');
      expect(byKey.get(k!)).toBe(ips);
    }
  });

  it('names the errno of a refused change and leaves the device as it was', async () => {
    const before = await wa.getDevice(devC);
    const err = await wa
      .configureDevice(devC, { listenPort: 51820, peers: [{ publicKey: keyPair().pub }] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'WgctrlError',
      code: 'ERR_WG_REJECTED',
      errno: 98,
      device: devC,
      backend: 'uapi',
    });
    expect((err as Error).message).not.toMatch(/[A-Za-z0-9+/]{43}=/);
    const after = await wa.getDevice(devC);
    expect(after.listenPort).toBe(before.listenPort);
    expect(after.peers).toHaveLength(1000);
    await expect(wa.getDevice(bed.name('none'))).rejects.toMatchObject({ code: 'ERR_WG_NO_DEVICE' });
    await expect(wa.createDevice(devC)).rejects.toMatchObject({ code: 'ERR_WG_EXISTS' });
  });

  it('the wg-tool backend configures a userspace device too', async () => {
    const wt = createWgctrl({ backend: 'wg', netns: a });
    const k = keyPair().pub;
    await wt.configureDevice(devC, {
      replacePeers: true,
      peers: [{ publicKey: k, allowedIps: ['10.200.0.0/16'], persistentKeepalive: 7 }],
    });
    const dev = await wa.getDevice(devC);
    expect(dev.peers.map((p) => [p.publicKey, p.allowedIps, p.persistentKeepalive])).toEqual([
      [k, ['10.200.0.0/16'], 7],
    ]);
    await wt.configureDevice(devC, { peers: [{ publicKey: k, allowedIps: ['10.201.0.0/16'] }] });
    expect((await wa.getDevice(devC)).peers[0]!.allowedIps).toEqual(['10.200.0.0/16', '10.201.0.0/16']);
  });

  it('reports a wireguard-go that cannot start, with its last words, and leaves nothing running', async () => {
    const broken = createWgctrl({ backend: 'uapi', netns: a, wireguardGo: '/nonexistent/wireguard-go' });
    const dev = bed.name('wx');
    const err = await broken.createDevice(dev).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_WG_PROCESS', device: dev });
    expect((err as Error).message).toMatch(/nonexistent/);
    expect(broken.supervised()).toEqual([]);
    expect(existsSync(`/var/run/wireguard/${dev}.sock`)).toBe(false);
    await broken.close();
  });

  for (const c of complianceCases) {
    it(`compliance (UAPI): ${c.name}`, async () => {
      if (!(await wa.listDevices()).includes(devD)) await wa.createDevice(devD, { up: true });
      await runCase(c, wa, devD);
    });
    it(`compliance (wg tool on wireguard-go): ${c.name}`, async () => {
      await runCase(c, createWgctrl({ backend: 'wg', netns: a }), devD);
    });
  }

  it('deletes a wireguard-go device it did not start, and the wg-tool backend cannot create one here', async () => {
    const dev = bed.name('we');
    bed.spawn(a, 'wireguard-go', ['-f', dev], { env: { ...process.env, LOG_LEVEL: 'error' } });
    await waitFor(
      'foreign wireguard-go',
      async () => (await wa.listDevices()).includes(dev) && !!(await wa.getDevice(dev).catch(() => null)),
    );
    expect(wa.supervised().map((s) => s.name)).not.toContain(dev);
    await wa.deleteDevice(dev);
    await waitFor('foreign device gone', () => bed.exec(a, 'ip', ['link', 'show', dev]).status !== 0);
    expect(existsSync(`/var/run/wireguard/${dev}.sock`)).toBe(false);
    const wt = createWgctrl({ backend: 'wg', netns: a });
    if (kernelSkipReason('wireguard')) {
      await expect(wt.createDevice(bed.name('wf'))).rejects.toMatchObject({
        code: 'ERR_WG_UNAVAILABLE',
        backend: 'wg',
      });
    } else {
      await wt.createDevice(bed.name('wf'));
      await wt.deleteDevice(bed.name('wf'));
    }
  });

  it('deletes devices and leaves nothing behind', async () => {
    await wa.deleteDevice(devC);
    expect(existsSync(`/var/run/wireguard/${devC}.sock`)).toBe(false);
    expect(bed.exec(a, 'ip', ['link', 'show', devC]).status).not.toBe(0);
    await wa.deleteDevice(devD);
    expect(wa.supervised().map((s) => s.name)).toEqual([devA]);
    expect(await wa.listDevices()).not.toContain(devC);
  });
});
