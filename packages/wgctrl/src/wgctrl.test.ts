import { describe, expect, it } from 'vitest';
import type { Backend } from './backend.js';
import { WgctrlError } from './errors.js';
import { applyConfig, type Change, type DeviceState, emptyState, validateConfig } from './state.js';
import { createWgctrl, wgctrlOver } from './wgctrl.js';

const b64 = (n: number) => Buffer.from(new Uint8Array(32).fill(n)).toString('base64');

/**
 * An in-memory device that, like the UAPI, applies a change line by line and stops at the first
 * failure: `failAtPeer` makes it refuse the change after applying the peers before that index.
 */
function memoryBackend(failAtPeer?: number) {
  let state: DeviceState = emptyState('wg0');
  const applied: Change[] = [];
  const backend: Backend = {
    kind: 'uapi',
    list: async () => ['wg0'],
    read: async (name) => {
      if (name !== 'wg0') throw new WgctrlError('ERR_WG_NO_DEVICE', 'no UAPI socket', { device: name });
      return structuredClone(state);
    },
    async apply(_name, ch) {
      applied.push(ch);
      if (failAtPeer !== undefined && ch.peers.length > failAtPeer) {
        state = applyConfig(state, { ...ch, peers: ch.peers.slice(0, failAtPeer) });
        throw new WgctrlError('ERR_WG_REJECTED', 'set refused: EINVAL (errno 22)', {
          device: 'wg0',
          backend: 'uapi',
          errno: 22,
        });
      }
      state = applyConfig(state, ch);
    },
    create: async () => undefined,
    remove: async () => undefined,
    close: async () => undefined,
  };
  return {
    backend,
    applied,
    get state() {
      return state;
    },
  };
}

describe('createWgctrl', () => {
  it('undoes a change the device refused part-way, then reports the refusal', async () => {
    const m = memoryBackend(2);
    const w = wgctrlOver(m.backend, { reconcile: true });
    await w.configureDevice('wg0', {
      privateKey: b64(1),
      listenPort: 5000,
      peers: [{ publicKey: b64(2), allowedIps: ['10.0.0.2/32'] }],
    });
    const before = await w.getDevice('wg0');
    const err = await w
      .configureDevice('wg0', {
        fwmark: 9,
        peers: [
          { publicKey: b64(2), remove: true },
          { publicKey: b64(3), allowedIps: ['10.0.0.3/32'] },
          { publicKey: b64(4) },
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_WG_REJECTED', errno: 22, device: 'wg0' });
    expect(await w.getDevice('wg0')).toEqual(before);
    // The repair re-adds the removed peer, removes the added one and restores fwmark.
    const undo = m.applied.at(-1)!;
    expect(undo.fwmark).toBe(0);
    expect(undo.peers.map((p) => [p.publicKey[0], p.remove])).toEqual([
      [3, true],
      [2, false],
    ]);
  });

  it('leaves a partly applied change in place when reconcile is off', async () => {
    const m = memoryBackend(1);
    const w = wgctrlOver(m.backend, { reconcile: false });
    await expect(
      w.configureDevice('wg0', { peers: [{ publicKey: b64(2) }, { publicKey: b64(3) }] }),
    ).rejects.toThrow(WgctrlError);
    expect((await w.getDevice('wg0')).peers).toHaveLength(1);
  });

  it('refuses invalid changes before touching the device, and everything after close', async () => {
    const m = memoryBackend();
    const w = wgctrlOver(m.backend, { reconcile: true });
    await expect(w.configureDevice('wg0', { listenPort: -1 })).rejects.toMatchObject({
      code: 'ERR_WG_INVALID_CONFIG',
    });
    expect(m.applied).toHaveLength(0);
    await w.close();
    await expect(w.getDevice('wg0')).rejects.toMatchObject({ code: 'ERR_WG_CLOSED' });
  });

  it('serialises concurrent changes to one device', async () => {
    const m = memoryBackend();
    const w = wgctrlOver(m.backend, { reconcile: true });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        w.configureDevice('wg0', { peers: [{ publicKey: b64(i + 1), allowedIps: [`10.0.0.${i + 1}/32`] }] }),
      ),
    );
    expect((await w.getDevice('wg0')).peers).toHaveLength(20);
  });

  it('uses the backend it is told to, and names a missing one', () => {
    expect(createWgctrl({ backend: 'wg', wgTool: '/nonexistent/wg' }).backend).toBe('wg');
    expect(createWgctrl({ backend: 'uapi' }).backend).toBe('uapi');
  });
});

it('validateConfig is what configureDevice checks', () => {
  expect(() => validateConfig('wg0', { peers: [{ publicKey: 'nope' }] })).toThrow(/peers\[0\]\.publicKey/);
});
