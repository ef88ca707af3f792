/** The interface every backend implements; createWgctrl adds validation and reconciliation on top. */
import type { WgBackendKind } from './errors.js';
import type { Change, DeviceState } from './state.js';
import type { CreateDeviceOptions, SupervisedDevice } from './types.js';

export interface Backend {
  readonly kind: WgBackendKind;
  list(): Promise<string[]>;
  /** The full state, private key included (it never leaves this package). */
  read(name: string): Promise<DeviceState>;
  apply(name: string, change: Change): Promise<void>;
  create(name: string, opts: CreateDeviceOptions): Promise<void>;
  remove(name: string): Promise<void>;
  /** Whether this backend holds the device (auto mode routes userspace devices to UAPI). */
  has?(name: string): boolean;
  /** Told the state a successful change led to: what a restarted wireguard-go gets back. */
  applied?(name: string, state: DeviceState): void;
  supervised?(): SupervisedDevice[];
  /**
   * Runs `fn` alone for this device. createWgctrl runs each operation through it, and the UAPI
   * backend also runs its re-setup after a restart through it, so the two never interleave.
   */
  exclusive?<T>(name: string, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Per-key mutual exclusion: each call runs after the previous one for the same key settled. */
export function createLocks(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = tails.get(key) ?? Promise.resolve();
    const p = prev.then(fn, fn);
    const tail = p.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return p;
  };
}

/** Interface names as Linux accepts them: 1 to 15 characters, no '/', no whitespace, not "." or "..". */
export function validIfname(name: string): boolean {
  return typeof name === 'string' && /^[^/\s:]{1,15}$/.test(name) && name !== '.' && name !== '..';
}
