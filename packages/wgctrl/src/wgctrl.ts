/**
 * createWgctrl: one API over the three backends. It validates every change before anything is
 * sent, reads the device before a change, and when the device refuses a change part-way (neither
 * API is atomic) reads it again and undoes what was applied, so a failed configureDevice leaves the
 * device as it was.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { type Backend, createLocks } from './backend.js';
import { type WgBackendKind, WgctrlError } from './errors.js';
import { createKernelBackend, kernelWireguardAvailable } from './kernel.js';
import {
  applyConfig,
  type Change,
  changeIsEmpty,
  type DeviceState,
  diffState,
  syncTarget,
  toWgDevice,
  validateConfig,
} from './state.js';
import type { SpawnFn, SupervisorClock, SupervisorEvent } from './supervisor.js';
import type { CreateDeviceOptions, Wgctrl, WgDevice, WgDeviceConfig } from './types.js';
import { createUapiBackend, DEFAULT_RUN_DIR } from './uapi-backend.js';
import { createWgToolBackend } from './wgtool.js';

export interface WgctrlOptions {
  /**
   * 'auto' (default): the kernel if its "wireguard" generic-netlink family resolves (devices that
   * have a UAPI socket still go through the UAPI, as `wg` does), else the UAPI if wireguard-go is
   * installed or a UAPI socket exists, else the `wg` tool.
   */
  backend?: 'auto' | WgBackendKind;
  /**
   * The network namespace (a name under /run/netns) the devices live in: kernel sockets are opened
   * there, wireguard-go and `wg` run there. Default: the process's own.
   */
  netns?: string;
  /** Directory of UAPI sockets. Default /var/run/wireguard (shared by all namespaces). */
  uapiRunDir?: string;
  /** wireguard-go binary. Default "wireguard-go" from PATH. */
  wireguardGo?: string;
  /** Extra environment for wireguard-go, e.g. { LOG_LEVEL: 'error' }. */
  wireguardGoEnv?: Record<string, string>;
  /** `wg` and `ip` binaries for the wg-tool backend. */
  wgTool?: string;
  ipTool?: string;
  /** Per-request timeout. Default 5000 ms. */
  timeoutMs?: number;
  /** Undo a change that the device refused part-way (default true). */
  reconcile?: boolean;
  /** Supervisor: first restart delay (default 100 ms, doubling to maxBackoffMs, default 10 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Called after a supervised wireguard-go was restarted and reconfigured: re-add addresses here. */
  onRestart?: (name: string) => void | Promise<void>;
  /** Supervisor events (started, exited, restart-failed), for logging. */
  onSupervisorEvent?: (e: SupervisorEvent) => void;
  /** Test seams for the supervisor. */
  spawn?: SpawnFn;
  clock?: SupervisorClock;
}

function hasBinary(name: string): boolean {
  if (name.includes('/')) return existsSync(name);
  try {
    execFileSync('sh', ['-c', 'command -v "$0"', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function hasUapiSockets(dir: string): boolean {
  try {
    return readdirSync(dir).some((e) => e.endsWith('.sock'));
  } catch {
    return false;
  }
}

/** Which backend 'auto' picks here, without creating anything. */
export function detectBackend(
  opts: Pick<WgctrlOptions, 'netns' | 'uapiRunDir' | 'wireguardGo' | 'wgTool'> = {},
): WgBackendKind | undefined {
  if (kernelWireguardAvailable(opts.netns)) return 'kernel';
  if (hasBinary(opts.wireguardGo ?? 'wireguard-go') || hasUapiSockets(opts.uapiRunDir ?? DEFAULT_RUN_DIR))
    return 'uapi';
  if (hasBinary(opts.wgTool ?? 'wg')) return 'wg';
  return undefined;
}

/** Kernel first, but a device with a UAPI socket belongs to its userspace implementation. */
function routed(kernel: Backend, uapi: Backend): Backend {
  const pick = (name: string) => (uapi.has?.(name) ? uapi : kernel);
  return {
    kind: 'kernel',
    async list() {
      const [k, u] = await Promise.all([kernel.list(), uapi.list()]);
      return [...new Set([...k, ...u])].sort();
    },
    read: (n) => pick(n).read(n),
    apply: (n, c) => pick(n).apply(n, c),
    create: (n, o) => kernel.create(n, o),
    remove: (n) => pick(n).remove(n),
    applied: (n, s) => uapi.applied?.(n, s),
    supervised: () => uapi.supervised?.() ?? [],
    async close() {
      await Promise.all([kernel.close(), uapi.close()]);
    },
  };
}

export function createWgctrl(opts: WgctrlOptions = {}): Wgctrl {
  const want = opts.backend ?? 'auto';
  const kind = want === 'auto' ? detectBackend(opts) : want;
  if (!kind) {
    throw new WgctrlError(
      'ERR_WG_UNAVAILABLE',
      'no WireGuard backend here: no kernel module, wireguard-go or wg',
    );
  }
  const uapi = () =>
    createUapiBackend({
      runDir: opts.uapiRunDir,
      netns: opts.netns,
      wireguardGo: opts.wireguardGo,
      wireguardGoEnv: opts.wireguardGoEnv,
      timeoutMs: opts.timeoutMs,
      spawn: opts.spawn,
      clock: opts.clock,
      backoffMs: opts.backoffMs,
      maxBackoffMs: opts.maxBackoffMs,
      onEvent: opts.onSupervisorEvent,
      onRestart: opts.onRestart,
    });
  const kernel = () => createKernelBackend({ netns: opts.netns, timeoutMs: opts.timeoutMs });
  const backend: Backend =
    kind === 'kernel'
      ? want === 'auto'
        ? routed(kernel(), uapi())
        : kernel()
      : kind === 'uapi'
        ? uapi()
        : createWgToolBackend({
            netns: opts.netns,
            wg: opts.wgTool,
            ip: opts.ipTool,
            timeoutMs: opts.timeoutMs,
          });
  return wgctrlOver(backend, { reconcile: opts.reconcile ?? true });
}

/** The public API over one backend (exported for tests that bring their own backend). */
export function wgctrlOver(backend: Backend, opts: { reconcile: boolean }): Wgctrl {
  let closed = false;
  const check = (device?: string) => {
    if (closed)
      throw new WgctrlError('ERR_WG_CLOSED', 'controller closed', { device, backend: backend.kind });
  };
  // One operation at a time per device: a change is a read, an apply and maybe a repair.
  const local = createLocks();
  const serial = <T>(name: string, fn: () => Promise<T>): Promise<T> =>
    backend.exclusive ? backend.exclusive(name, fn) : local(name, fn);

  /** Applies a change; when the device refuses it part-way, puts the device back as it was. */
  async function applyOrRepair(name: string, before: DeviceState, change: Change): Promise<void> {
    try {
      await backend.apply(name, change);
    } catch (err) {
      if (opts.reconcile && err instanceof WgctrlError && err.code !== 'ERR_WG_NO_DEVICE') {
        try {
          const now = await backend.read(name);
          const undo = diffState(now, before);
          if (!changeIsEmpty(undo)) await backend.apply(name, undo);
        } catch {
          // The original error is the one to report; the device may be gone or unreachable.
        }
      }
      throw err;
    }
    backend.applied?.(name, applyConfig(before, change));
  }

  return {
    backend: backend.kind,
    async listDevices() {
      check();
      return backend.list();
    },
    async getDevice(name: string): Promise<WgDevice> {
      check(name);
      return toWgDevice(await backend.read(name));
    },
    configureDevice(name: string, config: WgDeviceConfig) {
      return serial(name, async () => {
        check(name);
        const change = validateConfig(name, config);
        const before = await backend.read(name);
        await applyOrRepair(name, before, change);
      });
    },
    syncDevice(name: string, config: WgDeviceConfig) {
      return serial(name, async () => {
        check(name);
        const wanted = validateConfig(name, config);
        const before = await backend.read(name);
        const change = diffState(before, syncTarget(before, wanted));
        if (!changeIsEmpty(change)) await applyOrRepair(name, before, change);
      });
    },
    async createDevice(name: string, o: CreateDeviceOptions = {}) {
      check(name);
      return serial(name, () => backend.create(name, o));
    },
    async deleteDevice(name: string) {
      check(name);
      return serial(name, () => backend.remove(name));
    },
    supervised() {
      return backend.supervised?.() ?? [];
    },
    async close() {
      if (closed) return;
      closed = true;
      await backend.close();
    },
  };
}
