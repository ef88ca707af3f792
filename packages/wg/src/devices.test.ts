import { wgGeneratePrivateKey, wgKeyToBase64, wgPublicKey } from '@bmx7/crypto';
import { createMemoryWgctrl, type Wgctrl, WgctrlError } from '@bmx7/wgctrl';
import { describe, expect, it } from 'vitest';
import { createWgDevices, type WgDeviceWant, type WgPeerWant, type WgSystemPort } from './devices.js';

const privateKey = wgGeneratePrivateKey(() => new Uint8Array(32).fill(7));
const PRIVATE_B64 = wgKeyToBase64(privateKey);
const key = (n: number) => new Uint8Array(32).fill(n);
const b64 = (n: number) => wgKeyToBase64(key(n));

/** The system port's twin: addresses per device, as the daemon would journal them. */
function memorySystem() {
  const addresses = new Map<string, Set<string>>();
  const system: WgSystemPort = {
    async addAddress(dev, prefix) {
      const s = addresses.get(dev) ?? new Set<string>();
      s.add(prefix);
      addresses.set(dev, s);
    },
    async removeAddress(dev, prefix) {
      addresses.get(dev)?.delete(prefix);
      if (addresses.get(dev)?.size === 0) addresses.delete(dev);
    },
  };
  const of = (dev: string) => [...(addresses.get(dev) ?? [])].sort();
  return { system, addresses, of };
}

/** A reconciler over the memory twin, capturing every log line as text. */
function setup(wgctrl: Wgctrl = createMemoryWgctrl()) {
  const sys = memorySystem();
  const lines: string[] = [];
  const devices = createWgDevices({
    wgctrl,
    system: sys.system,
    privateKey: () => PRIVATE_B64,
    log: (level, msg, fields) => lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`),
  });
  return { devices, sys, lines, wgctrl };
}

const peer = (n: number, more: Partial<WgPeerWant> = {}): WgPeerWant => ({
  publicKey: key(n),
  allowedIps: [`10.0.0.${n}/32`],
  ...more,
});

const device = (name: string, more: Partial<WgDeviceWant> = {}): WgDeviceWant => ({
  name,
  listenPort: 6271,
  peers: [peer(2, { endpoint: '[fd00::2]:6271', persistentKeepalive: 25 }), peer(3)],
  addresses: ['10.1.0.1/32', 'fdaa:1::1/128'],
  ...more,
});

describe('WireGuard devices', () => {
  it('makes a device with the private key, listen port, peers and addresses', async () => {
    const wg = createMemoryWgctrl();
    const { devices, sys } = setup(wg);
    expect(devices.ready('wg0')).toBe(false);
    devices.set([device('wg0')]);
    await devices.settled();
    const dev = await wg.getDevice('wg0');
    expect(dev.publicKey).toBe(wgKeyToBase64(wgPublicKey(privateKey)));
    expect(dev.listenPort).toBe(6271);
    expect(dev.peers).toEqual([
      expect.objectContaining({
        publicKey: b64(2),
        endpoint: '[fd00::2]:6271',
        allowedIps: ['10.0.0.2/32'],
        persistentKeepalive: 25,
      }),
      expect.objectContaining({ publicKey: b64(3), allowedIps: ['10.0.0.3/32'], persistentKeepalive: 0 }),
    ]);
    expect(dev.peers[1]!.endpoint).toBeUndefined();
    expect(sys.of('wg0')).toEqual(['10.1.0.1/32', 'fdaa:1::1/128']);
    expect(devices.ready('wg0')).toBe(true);
    await devices.close();
  });

  it('changes one peer and keeps the other peer and its session; drops addresses not wanted', async () => {
    const wg = createMemoryWgctrl();
    const { devices, sys } = setup(wg);
    devices.set([device('wg0')]);
    await devices.settled();
    wg.setPeerRuntime('wg0', b64(2), { lastHandshakeMs: 1234, rxBytes: 10, txBytes: 20 });
    devices.set([
      device('wg0', {
        peers: [
          peer(2, { endpoint: '[fd00::2]:6271', persistentKeepalive: 25 }),
          peer(3, { allowedIps: ['10.0.0.3/32', '10.3.0.0/16'] }),
        ],
        addresses: ['10.1.0.1/32'],
      }),
    ]);
    expect(devices.ready('wg0')).toBe(false);
    await devices.settled();
    const dev = await wg.getDevice('wg0');
    expect(dev.peers.find((p) => p.publicKey === b64(2))).toMatchObject({
      lastHandshakeMs: 1234,
      rxBytes: 10,
      txBytes: 20,
    });
    expect(dev.peers.find((p) => p.publicKey === b64(3))?.allowedIps).toEqual(['10.0.0.3/32', '10.3.0.0/16']);
    expect(sys.of('wg0')).toEqual(['10.1.0.1/32']);
    expect(devices.ready('wg0')).toBe(true);
    await devices.close();
  });

  it('replaces a peer whose key changed', async () => {
    const wg = createMemoryWgctrl();
    const { devices } = setup(wg);
    devices.set([device('wg0')]);
    await devices.settled();
    wg.setPeerRuntime('wg0', b64(3), { lastHandshakeMs: 99 });
    devices.set([device('wg0', { peers: [peer(2), peer(4, { allowedIps: ['10.0.0.3/32'] })] })]);
    await devices.settled();
    const dev = await wg.getDevice('wg0');
    expect(dev.peers.map((p) => p.publicKey)).toEqual([b64(2), b64(4)]);
    expect(dev.peers[1]).toMatchObject({ allowedIps: ['10.0.0.3/32'], lastHandshakeMs: 0 });
    await devices.close();
  });

  it('deletes a device no longer wanted, and its addresses are forgotten', async () => {
    const wg = createMemoryWgctrl();
    const { devices, sys } = setup(wg);
    devices.set([device('wg0'), device('wg1', { listenPort: 6272, addresses: ['10.1.0.2/32'] })]);
    await devices.settled();
    expect(await wg.listDevices()).toEqual(['wg0', 'wg1']);
    await devices.refresh();
    devices.set([device('wg1', { listenPort: 6272, addresses: ['10.1.0.2/32'] })]);
    await devices.settled();
    expect(await wg.listDevices()).toEqual(['wg1']);
    expect(sys.addresses.has('wg0')).toBe(false);
    expect(sys.of('wg1')).toEqual(['10.1.0.2/32']);
    expect(devices.ready('wg0')).toBe(false);
    expect(devices.state('wg0')).toBeUndefined();
    expect(devices.ready('wg1')).toBe(true);
    await devices.close();
  });

  it('logs a failed create, leaves the device not ready, and makes it on the next set()', async () => {
    const wg = createMemoryWgctrl();
    let refuse = true;
    const flaky: Wgctrl = {
      ...wg,
      async createDevice(name, o) {
        if (refuse) throw new WgctrlError('ERR_WG_PERMISSION', 'operation not permitted', { device: name });
        return wg.createDevice(name, o);
      },
    };
    const { devices, lines, sys } = setup(flaky);
    devices.set([device('wg0'), device('wg1', { listenPort: 6272, addresses: ['10.1.0.2/32'] })]);
    await devices.settled();
    expect(devices.ready('wg0')).toBe(false);
    expect(devices.ready('wg1')).toBe(false);
    expect(await wg.listDevices()).toEqual([]);
    expect(lines.filter((l) => l.startsWith('0 ') && l.includes('"dev":"wg0"'))).toEqual([
      expect.stringContaining('operation not permitted'),
    ]);
    expect(sys.addresses.size).toBe(0);
    refuse = false;
    devices.set([device('wg0'), device('wg1', { listenPort: 6272, addresses: ['10.1.0.2/32'] })]);
    await devices.settled();
    expect(devices.ready('wg0')).toBe(true);
    expect(devices.ready('wg1')).toBe(true);
    expect(await wg.listDevices()).toEqual(['wg0', 'wg1']);
    await devices.close();
  });

  it('logs a refused configuration without stopping the other devices, and retries it', async () => {
    let refuse = true;
    const wg = createMemoryWgctrl({
      onApply(name) {
        if (refuse && name === 'wg0')
          throw new WgctrlError('ERR_WG_REJECTED', 'address in use', { device: name, errno: 98 });
      },
    });
    const { devices, lines, sys } = setup(wg);
    const wants = [device('wg0'), device('wg1', { listenPort: 6272, addresses: ['10.1.0.2/32'] })];
    devices.set(wants);
    await devices.settled();
    expect(devices.ready('wg0')).toBe(false);
    expect(devices.ready('wg1')).toBe(true);
    expect(sys.addresses.has('wg0')).toBe(false);
    expect(lines.some((l) => l.startsWith('0 ') && l.includes('wg0') && l.includes('address in use'))).toBe(
      true,
    );
    refuse = false;
    devices.set(wants);
    await devices.settled();
    expect(devices.ready('wg0')).toBe(true);
    expect(sys.of('wg0')).toEqual(['10.1.0.1/32', 'fdaa:1::1/128']);
    await devices.close();
  });

  it('leaves alone a device of the same name that it did not make', async () => {
    const wg = createMemoryWgctrl();
    await wg.createDevice('wg0');
    await wg.configureDevice('wg0', { listenPort: 51820, peers: [{ publicKey: b64(9) }] });
    const { devices, lines, sys } = setup(wg);
    devices.set([device('wg0')]);
    await devices.settled();
    expect(devices.ready('wg0')).toBe(false);
    expect(lines.some((l) => l.startsWith('0 ') && l.includes('wg0') && l.includes('ERR_WG_EXISTS'))).toBe(
      true,
    );
    devices.set([]);
    await devices.settled();
    await devices.close();
    const dev = await wg.getDevice('wg0');
    expect(dev.listenPort).toBe(51820);
    expect(dev.peers.map((p) => p.publicKey)).toEqual([b64(9)]);
    expect(sys.addresses.size).toBe(0);
  });

  it('coalesces: three set() calls in a row lead to the last state', async () => {
    const wg = createMemoryWgctrl();
    let creates = 0;
    const counting: Wgctrl = {
      ...wg,
      createDevice: (name, o) => {
        creates++;
        return wg.createDevice(name, o);
      },
    };
    const { devices, sys } = setup(counting);
    devices.set([device('wg0')]);
    devices.set([device('wg1')]);
    devices.set([device('wg2', { listenPort: 6273, peers: [peer(5)], addresses: ['10.1.0.5/32'] })]);
    await devices.settled();
    expect(creates).toBe(1);
    expect(await wg.listDevices()).toEqual(['wg2']);
    expect((await wg.getDevice('wg2')).peers.map((p) => p.publicKey)).toEqual([b64(5)]);
    expect([...sys.addresses.keys()]).toEqual(['wg2']);
    expect(devices.ready('wg2')).toBe(true);
    expect(devices.ready('wg0')).toBe(false);
    await devices.close();
  });

  it('refresh() fills state() with what the device reads back', async () => {
    const wg = createMemoryWgctrl();
    const { devices } = setup(wg);
    devices.set([device('wg0')]);
    await devices.settled();
    expect(devices.state('wg0')).toBeUndefined();
    wg.setPeerRuntime('wg0', b64(2), { lastHandshakeMs: 5000, rxBytes: 1, txBytes: 2 });
    await devices.refresh();
    const s = devices.state('wg0');
    expect(s?.listenPort).toBe(6271);
    expect(s?.peers.find((p) => p.publicKey === b64(2))).toMatchObject({ lastHandshakeMs: 5000, rxBytes: 1 });
    // a device that cannot be read any more is dropped
    await wg.deleteDevice('wg0');
    await devices.refresh();
    expect(devices.state('wg0')).toBeUndefined();
    await devices.close();
  });

  it('restarted() adds the addresses again to the new TUN device', async () => {
    const { devices, sys } = setup();
    devices.set([device('wg0')]);
    await devices.settled();
    sys.addresses.delete('wg0');
    await devices.restarted('wg0');
    expect(sys.of('wg0')).toEqual(['10.1.0.1/32', 'fdaa:1::1/128']);
    expect(devices.ready('wg0')).toBe(true);
    // a device it did not make is none of its business
    await devices.restarted('wg9');
    expect(sys.addresses.has('wg9')).toBe(false);
    await devices.close();
  });

  it('close() waits for the running reconcile, deletes every device it made, and is idempotent', async () => {
    const wg = createMemoryWgctrl();
    let hold: (() => void) | undefined;
    let held: (() => void) | undefined;
    const reached = new Promise<void>((r) => {
      held = r;
    });
    const gated: Wgctrl = {
      ...wg,
      async createDevice(name, o) {
        await wg.createDevice(name, o);
        if (name !== 'wg1') return;
        held?.();
        await new Promise<void>((r) => {
          hold = r;
        });
      },
    };
    const { devices, sys } = setup(gated);
    devices.set([device('wg0'), device('wg1', { listenPort: 6272 })]);
    await reached;
    const closing = devices.close();
    expect(devices.close()).toBe(closing);
    hold?.();
    await closing;
    expect(await wg.listDevices()).toEqual([]);
    expect(sys.addresses.size).toBe(0);
    expect(devices.ready('wg0')).toBe(false);
    await devices.close();
    // closed: wants are ignored from now on
    devices.set([device('wg0')]);
    await devices.settled();
    expect(await wg.listDevices()).toEqual([]);
  });

  it('never logs the private key, even when everything fails', async () => {
    const wg = createMemoryWgctrl({
      onApply(name) {
        throw new WgctrlError('ERR_WG_REJECTED', 'refused', { device: name });
      },
    });
    await wg.createDevice('wg5');
    const { devices, lines } = setup(wg);
    devices.set([
      device('wg0'),
      device('wg5'),
      device('bad name that is far too long'),
      device('wg1', { peers: [peer(2, { endpoint: 'not an endpoint' })] }),
    ]);
    await devices.settled();
    await devices.refresh();
    await devices.close();
    expect(lines.length).toBeGreaterThan(0);
    const text = lines.join('\n');
    expect(text).not.toContain(PRIVATE_B64);
    expect(text).not.toContain(Buffer.from(privateKey).toString('hex'));
  });
});
