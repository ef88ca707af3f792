/**
 * WireGuard for the wg plugin: `wgBackend` picks the control (@bmx7/wgctrl), and every device made
 * through it is journaled as a link, so a device left by a killed daemon goes at the next start
 * (deleting a wireguard-go device's TUN link ends that wireguard-go too). A supervised wireguard-go
 * that was restarted has a new TUN device: the daemon reads its links again and installs the routes
 * into it, after the wg plugin put its addresses back.
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigState } from '@bmx7/control';
import type { Logger, PluginOption } from '@bmx7/core';
import { createWgctrl, detectBackend, type Wgctrl, WgctrlError } from '@bmx7/wgctrl';
import type { Journal } from './journal.js';

/** `wgBackend`: which WireGuard carries encrypted tunnels. */
export const WG_BACKEND_OPTION: PluginOption = {
  name: 'wgBackend',
  type: { kind: 'enum', values: ['auto', 'kernel', 'userspace', 'off'] },
  default: 'auto',
  when: 'init',
  help: "WireGuard for encrypted tunnels: the kernel's, wireguard-go (userspace), auto (the kernel's when the kernel has it, else wireguard-go), or off (no WireGuard key announced)",
};

/** Where wireguard-go keeps its control sockets (its compiled-in directory). */
const UAPI_DIR = '/var/run/wireguard';

export interface DaemonWgInit {
  state: ConfigState;
  journal: Journal;
  logger: Logger;
  /** A device was made or remade: read the links again and install routes into it. */
  onDevice(name: string): void;
  /** A supervised wireguard-go came back: the wg plugin re-adds the device's addresses. */
  onRestart(name: string): Promise<void>;
}

/**
 * Reads a secret file (a pre-shared key): refused when group or others may read or write it, as
 * ssh refuses such a key; the message names the file and the mode, never the content.
 */
export function readSecretFile(path: string): Uint8Array {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (e) {
    throw new Error(`${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  if (mode & 0o077)
    throw new Error(`${path}: mode ${(mode & 0o777).toString(8)}, must be 600 (readable by the owner only)`);
  return new Uint8Array(readFileSync(path));
}

/** Leftovers of a killed daemon: a wireguard-go whose link is gone also leaves its socket. */
export function removeStaleSocket(name: string): void {
  const sock = join(UAPI_DIR, `${name}.sock`);
  if (/^[^/\s]{1,15}$/.test(name) && existsSync(sock)) rmSync(sock, { force: true });
}

/**
 * The WireGuard control `wgBackend` asks for, journaling the devices it makes; undefined with
 * `wgBackend=off` or where neither the kernel module nor wireguard-go exists (logged).
 */
export function createDaemonWgctrl(init: DaemonWgInit): Wgctrl | undefined {
  const { state, journal, logger } = init;
  const s = state.get('wgBackend');
  const mode = s?.kind === 'single' ? String(s.value) : 'auto';
  if (mode === 'off') return undefined;
  const detected = detectBackend();
  const backend = mode === 'kernel' ? 'kernel' : mode === 'userspace' ? 'uapi' : detected;
  if (backend !== 'kernel' && backend !== 'uapi') {
    logger.log(0, 'no WireGuard here (neither the kernel module nor wireguard-go): no encrypted tunnels');
    return undefined;
  }
  if (mode === 'kernel' && detected !== 'kernel')
    logger.log(0, 'wgBackend=kernel, but the kernel has no WireGuard: encrypted tunnels will fail');
  const wg = createWgctrl({
    backend: mode === 'auto' ? 'auto' : backend,
    // wireguard-go logs only errors, into the daemon's log through the supervisor's events
    wireguardGoEnv: { LOG_LEVEL: 'error' },
    onRestart: async (name) => {
      await init.onRestart(name);
      init.onDevice(name);
    },
    onSupervisorEvent: (e) => {
      if (e.type === 'exited')
        logger.log(0, 'wireguard-go exited, restarting', {
          dev: e.name,
          code: e.code,
          signal: e.signal,
          restartInMs: e.restartInMs,
          ...(e.log ? { log: e.log } : {}),
        });
      else if (e.type === 'restart-failed')
        logger.log(0, 'wireguard-go restart failed', { dev: e.name, error: e.error.message });
      else logger.log(3, 'wireguard-go running', { dev: e.name, pid: e.pid, restarts: e.restarts });
    },
  });
  logger.log(3, 'WireGuard', { backend: wg.backend });
  const forget = (name: string) => journal.remove((e) => e.kind === 'link' && e.name === name);
  return {
    ...wg,
    backend: wg.backend,
    async createDevice(name, opts) {
      journal.add({ kind: 'link', name });
      try {
        await wg.createDevice(name, opts);
      } catch (e) {
        if (!(e instanceof WgctrlError && e.code === 'ERR_WG_EXISTS')) forget(name);
        throw e;
      }
      init.onDevice(name);
    },
    async deleteDevice(name) {
      await wg.deleteDevice(name);
      forget(name);
    },
    listDevices: () => wg.listDevices(),
    getDevice: (n) => wg.getDevice(n),
    configureDevice: (n, c) => wg.configureDevice(n, c),
    syncDevice: (n, c) => wg.syncDevice(n, c),
    supervised: () => wg.supervised(),
    close: () => wg.close(),
  };
}
