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
  close(): Promise<void>;
}

/** Interface names as Linux accepts them: 1 to 15 characters, no '/', no whitespace, not "." or "..". */
export function validIfname(name: string): boolean {
  return typeof name === 'string' && /^[^/\s:]{1,15}$/.test(name) && name !== '.' && name !== '..';
}
