/**
 * The in-memory twin of Wgctrl, for tests of code that manages WireGuard (the wg plugin): devices
 * are plain state changed with the same semantics as the UAPI (applyConfig), with the same
 * validation, reconciliation and errors as the real controller. `onApply` can refuse a change.
 */
import type { Backend } from './backend.js';
import { WgctrlError } from './errors.js';
import { applyConfig, type DeviceState, emptyState } from './state.js';
import type { Wgctrl } from './types.js';
import { wgctrlOver } from './wgctrl.js';

export interface MemoryWgctrlOptions {
  /**
   * Called with each change as configureDevice or syncDevice sends it (base64 keys, never private
   * ones: `privateKey` shows as "(set)" or null). Throw a WgctrlError to make the device refuse it.
   */
  onApply?: (name: string, change: { privateKey?: '(set)' | null; peers: number }) => void;
}

export interface MemoryWgctrl extends Wgctrl {
  /** Sets what a peer's runtime fields read back as (handshake time, counters, learnt endpoint). */
  setPeerRuntime(
    name: string,
    publicKey: string,
    runtime: { lastHandshakeMs?: number; rxBytes?: number; txBytes?: number },
  ): void;
}

export function createMemoryWgctrl(opts: MemoryWgctrlOptions = {}): MemoryWgctrl {
  const devices = new Map<string, DeviceState>();
  const get = (name: string) => {
    const d = devices.get(name);
    if (!d)
      throw new WgctrlError('ERR_WG_NO_DEVICE', 'no such device', {
        device: name,
        backend: 'uapi',
        errno: 19,
      });
    return d;
  };
  const backend: Backend = {
    kind: 'uapi',
    list: async () => [...devices.keys()].sort(),
    read: async (name) => structuredClone(get(name)),
    async apply(name, ch) {
      const cur = get(name);
      const summary: { privateKey?: '(set)' | null; peers: number } = { peers: ch.peers.length };
      if (ch.privateKey !== undefined) summary.privateKey = ch.privateKey ? '(set)' : null;
      opts.onApply?.(name, summary);
      devices.set(name, applyConfig(cur, ch));
    },
    async create(name) {
      if (devices.has(name))
        throw new WgctrlError('ERR_WG_EXISTS', 'device exists', { device: name, backend: 'uapi', errno: 17 });
      devices.set(name, emptyState(name));
    },
    async remove(name) {
      get(name);
      devices.delete(name);
    },
    close: async () => undefined,
  };
  const w = wgctrlOver(backend, { reconcile: true });
  return {
    ...w,
    backend: w.backend,
    setPeerRuntime(name, publicKey, runtime) {
      const key = Buffer.from(publicKey, 'base64');
      const p = get(name).peers.find((x) => Buffer.compare(Buffer.from(x.publicKey), key) === 0);
      if (!p) throw new WgctrlError('ERR_WG_NO_DEVICE', 'no such peer', { device: name });
      Object.assign(p, runtime);
    },
  };
}
