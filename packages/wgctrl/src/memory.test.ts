import { describe, expect, it } from 'vitest';
import { complianceCases, runCase } from '../test/compliance.js';
import { WgctrlError } from './errors.js';
import { createMemoryWgctrl } from './memory.js';

const b64 = (n: number) => Buffer.from(new Uint8Array(32).fill(n)).toString('base64');

describe('in-memory Wgctrl twin and syncDevice', () => {
  it('creates, configures, reads and deletes devices with the real semantics and errors', async () => {
    const w = createMemoryWgctrl();
    await w.createDevice('wg0');
    await expect(w.createDevice('wg0')).rejects.toMatchObject({ code: 'ERR_WG_EXISTS', device: 'wg0' });
    await w.configureDevice('wg0', {
      privateKey: b64(1),
      listenPort: 51820,
      peers: [{ publicKey: b64(2), allowedIps: ['10.0.0.2/32'] }],
    });
    expect(await w.listDevices()).toEqual(['wg0']);
    const dev = await w.getDevice('wg0');
    expect(dev.publicKey).toHaveLength(44);
    expect(dev.peers).toEqual([
      {
        publicKey: b64(2),
        hasPresharedKey: false,
        allowedIps: ['10.0.0.2/32'],
        persistentKeepalive: 0,
        lastHandshakeMs: 0,
        rxBytes: 0,
        txBytes: 0,
      },
    ]);
    await expect(w.configureDevice('wg0', { peers: [{ publicKey: 'bad' }] })).rejects.toMatchObject({
      code: 'ERR_WG_INVALID_CONFIG',
    });
    await w.deleteDevice('wg0');
    await expect(w.getDevice('wg0')).rejects.toMatchObject({ code: 'ERR_WG_NO_DEVICE' });
  });

  it('syncDevice changes only what differs, so unchanged peers keep their sessions', async () => {
    const seen: number[] = [];
    const w = createMemoryWgctrl({ onApply: (_n, ch) => seen.push(ch.peers) });
    await w.createDevice('wg0');
    await w.configureDevice('wg0', {
      privateKey: b64(1),
      peers: [
        {
          publicKey: b64(2),
          endpoint: '10.1.0.2:51820',
          presharedKey: b64(8),
          allowedIps: ['10.0.0.2/32'],
          persistentKeepalive: 25,
        },
        { publicKey: b64(3), allowedIps: ['10.0.0.3/32', '10.0.3.0/24'] },
        { publicKey: b64(4), allowedIps: ['10.0.0.4/32'] },
      ],
    });
    w.setPeerRuntime('wg0', b64(2), { lastHandshakeMs: 1234, rxBytes: 10 });
    seen.length = 0;
    await w.syncDevice('wg0', {
      peers: [
        // Same as now (the endpoint left out stays): untouched.
        { publicKey: b64(2), presharedKey: b64(8), allowedIps: ['10.0.0.2/32'], persistentKeepalive: 25 },
        // Fewer allowed IPs: replaced exactly.
        { publicKey: b64(3), allowedIps: ['10.0.0.3/32'] },
        // New.
        { publicKey: b64(5), allowedIps: ['10.0.0.5/32'] },
      ],
    });
    expect(seen).toEqual([3]); // one change: peer 4 removed, peer 3 updated, peer 5 added
    const dev = await w.getDevice('wg0');
    expect(dev.peers.map((p) => [p.publicKey, p.allowedIps])).toEqual([
      [b64(2), ['10.0.0.2/32']],
      [b64(3), ['10.0.0.3/32']],
      [b64(5), ['10.0.0.5/32']],
    ]);
    expect(dev.peers[0]).toMatchObject({
      lastHandshakeMs: 1234,
      rxBytes: 10,
      endpoint: '10.1.0.2:51820',
      hasPresharedKey: true,
    });
    seen.length = 0;
    await w.syncDevice('wg0', {
      peers: [
        { publicKey: b64(2), presharedKey: b64(8), allowedIps: ['10.0.0.2/32'], persistentKeepalive: 25 },
        { publicKey: b64(3), allowedIps: ['10.0.0.3/32'] },
        { publicKey: b64(5), allowedIps: ['10.0.0.5/32'] },
      ],
    });
    expect(seen).toEqual([]); // nothing differs: nothing is sent
    // Left out means none for the pre-shared key and keepalive.
    await w.syncDevice('wg0', { peers: [{ publicKey: b64(2), allowedIps: ['10.0.0.2/32'] }] });
    expect((await w.getDevice('wg0')).peers).toEqual([
      expect.objectContaining({ publicKey: b64(2), hasPresharedKey: false, persistentKeepalive: 0 }),
    ]);
  });

  it('lets a test make the device refuse a change, which is then undone', async () => {
    let refuse = false;
    const w = createMemoryWgctrl({
      onApply: () => {
        if (refuse) {
          refuse = false;
          throw new WgctrlError('ERR_WG_REJECTED', 'refused', { device: 'wg0', errno: 22 });
        }
      },
    });
    await w.createDevice('wg0');
    await w.configureDevice('wg0', { listenPort: 1 });
    refuse = true;
    await expect(w.configureDevice('wg0', { listenPort: 2 })).rejects.toMatchObject({ errno: 22 });
    expect((await w.getDevice('wg0')).listenPort).toBe(1);
  });
});

describe('compliance: in-memory twin', () => {
  const w = createMemoryWgctrl();
  for (const c of complianceCases) {
    it(c.name, async () => {
      if (!(await w.listDevices()).includes('wgm0')) await w.createDevice('wgm0');
      await runCase(c, w, 'wgm0');
    });
  }
});
