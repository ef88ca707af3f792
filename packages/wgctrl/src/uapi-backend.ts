/**
 * The UAPI backend: devices are wireguard-go (or boringtun) processes reached through
 * `<runDir>/<name>.sock`. That directory is shared by every network namespace, so `list` shows the
 * userspace devices of all namespaces and names must be unique machine-wide. Devices this backend
 * creates run under a supervisor that restarts them and re-applies the last state.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  createNetlinkClient,
  IFF_UP,
  NETLINK_ROUTE,
  type NetlinkClient,
  NetlinkError,
  openNetlinkSocket,
  rtnlSetLink,
} from '@bmx7/netlink';
import { type Backend, createLocks, validIfname } from './backend.js';
import { errnoError, WgctrlError } from './errors.js';
import { type DeviceState, stateToChange } from './state.js';
import {
  createSupervisor,
  type SpawnFn,
  type Supervisor,
  type SupervisorClock,
  type SupervisorEvent,
  systemClock,
} from './supervisor.js';
import type { CreateDeviceOptions } from './types.js';
import {
  createUapiConnection,
  decodeUapiDevice,
  decodeUapiReply,
  encodeUapiSet,
  UAPI_GET,
  type UapiConnection,
} from './uapi.js';

export const DEFAULT_RUN_DIR = '/var/run/wireguard';

export interface UapiBackendOptions {
  runDir?: string | undefined;
  netns?: string | undefined;
  wireguardGo?: string | undefined;
  wireguardGoEnv?: Record<string, string> | undefined;
  timeoutMs?: number | undefined;
  /** How long a new wireguard-go may take to answer on its socket. Default 10 s. */
  startTimeoutMs?: number | undefined;
  spawn?: SpawnFn | undefined;
  clock?: SupervisorClock | undefined;
  backoffMs?: number | undefined;
  maxBackoffMs?: number | undefined;
  onEvent?: ((e: SupervisorEvent) => void) | undefined;
  /** Called after a supervised device was restarted and configured (re-add addresses here). */
  onRestart?: ((name: string) => void | Promise<void>) | undefined;
}

export function createUapiBackend(o: UapiBackendOptions = {}): Backend {
  const runDir = o.runDir ?? DEFAULT_RUN_DIR;
  const clock = o.clock ?? systemClock;
  const conns = new Map<string, UapiConnection>();
  const sups = new Map<string, { sup: Supervisor; up: boolean }>();
  const desired = new Map<string, DeviceState>();
  let rtnl: NetlinkClient | undefined;
  const exclusive = createLocks();
  const sockPath = (name: string) => join(runDir, `${name}.sock`);
  const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));

  function conn(name: string): UapiConnection {
    if (!validIfname(name))
      throw new WgctrlError(
        'ERR_WG_INVALID_CONFIG',
        'device name must be 1 to 15 characters, no "/" or spaces',
        { backend: 'uapi' },
      );
    let c = conns.get(name);
    if (!c || c.closed) {
      if (!existsSync(sockPath(name)))
        throw new WgctrlError('ERR_WG_NO_DEVICE', 'no UAPI socket', { device: name, backend: 'uapi' });
      c = createUapiConnection(sockPath(name), { device: name, timeoutMs: o.timeoutMs ?? 5000 });
      conns.set(name, c);
    }
    return c;
  }

  async function exchange(name: string, text: string, what: string): Promise<[string, string][]> {
    const reply = await conn(name).request(text);
    const d = decodeUapiReply(reply);
    if (!d.ok) {
      conns.get(name)?.close();
      throw new WgctrlError('ERR_WG_PROTOCOL', `malformed UAPI reply to ${what}: ${d.reason}`, {
        device: name,
        backend: 'uapi',
      });
    }
    if (d.value.errno !== 0)
      throw errnoError(d.value.errno, `${what} refused`, { device: name, backend: 'uapi' });
    return d.value.pairs;
  }

  async function read(name: string): Promise<DeviceState> {
    const pairs = await exchange(name, UAPI_GET, 'get');
    const dev = decodeUapiDevice(name, pairs);
    if (!dev.ok)
      throw new WgctrlError('ERR_WG_PROTOCOL', `malformed UAPI device: ${dev.reason}`, {
        device: name,
        backend: 'uapi',
      });
    return dev.value;
  }

  function setLinkUp(name: string): void {
    try {
      rtnl ??= createNetlinkClient(openNetlinkSocket(NETLINK_ROUTE, o.netns ? { netns: o.netns } : {}));
      rtnlSetLink(rtnl, { name, flags: IFF_UP, change: IFF_UP });
    } catch (err) {
      const errno = err instanceof NetlinkError ? err.errno : undefined;
      if (errno) throw errnoError(errno, 'link up', { device: name, backend: 'uapi', cause: err });
      throw new WgctrlError('ERR_WG_TOOL', 'cannot bring the link up', {
        device: name,
        backend: 'uapi',
        cause: err,
      });
    }
  }

  async function answers(name: string): Promise<boolean> {
    if (!existsSync(sockPath(name))) return false;
    const c = createUapiConnection(sockPath(name), { device: name, timeoutMs: o.timeoutMs ?? 5000 });
    try {
      const r = decodeUapiReply(await c.request(UAPI_GET));
      return r.ok && r.value.errno === 0;
    } catch {
      return false;
    } finally {
      c.close();
    }
  }

  return {
    kind: 'uapi',
    exclusive,
    async list() {
      let entries: string[];
      try {
        entries = readdirSync(runDir);
      } catch {
        return [];
      }
      return entries
        .filter((e) => e.endsWith('.sock'))
        .filter((e) => {
          try {
            return statSync(join(runDir, e)).isSocket();
          } catch {
            return false;
          }
        })
        .map((e) => e.slice(0, -5))
        .sort();
    },
    read,
    has: (name) => existsSync(sockPath(name)),
    async apply(name, change) {
      await exchange(name, encodeUapiSet(change), 'set');
    },
    applied(name, state) {
      if (sups.has(name)) desired.set(name, state);
    },
    async create(name, opts: CreateDeviceOptions) {
      if (!validIfname(name))
        throw new WgctrlError(
          'ERR_WG_INVALID_CONFIG',
          'device name must be 1 to 15 characters, no "/" or spaces',
          { backend: 'uapi' },
        );
      if (sups.has(name) || (await answers(name)))
        throw new WgctrlError('ERR_WG_EXISTS', 'a UAPI device of this name is running', {
          device: name,
          backend: 'uapi',
        });
      const startTimeout = o.startTimeoutMs ?? 10_000;
      const up = opts.up === true;
      let first = true;
      const sup = createSupervisor({
        name,
        netns: o.netns,
        binary: o.wireguardGo,
        env: o.wireguardGoEnv,
        spawn: o.spawn,
        clock,
        backoffMs: o.backoffMs,
        maxBackoffMs: o.maxBackoffMs,
        onEvent: o.onEvent,
        removeSocket: () => rmSync(sockPath(name), { force: true }),
        async waitReady() {
          conns.get(name)?.close();
          conns.delete(name);
          const deadline = clock.now() + startTimeout;
          while (!(await answers(name))) {
            if (clock.now() > deadline) {
              throw new WgctrlError(
                'ERR_WG_PROCESS',
                `wireguard-go did not answer within ${startTimeout} ms`,
                { device: name, backend: 'uapi' },
              );
            }
            await sleep(20);
          }
        },
        async setUp() {
          const run = async () => {
            if (!sups.has(name))
              throw new WgctrlError('ERR_WG_CLOSED', 'device deleted while restarting', {
                device: name,
                backend: 'uapi',
              });
            const want = desired.get(name);
            if (want) await exchange(name, encodeUapiSet(stateToChange(want)), 'set');
            if (up) setLinkUp(name);
          };
          if (first) {
            // Inside createDevice, which already holds this device's lock.
            first = false;
            return run();
          }
          // After a restart: not while a change to this device is half done.
          await exclusive(name, run);
          await o.onRestart?.(name);
        },
      });
      sups.set(name, { sup, up });
      try {
        await sup.start();
      } catch (err) {
        sups.delete(name);
        throw err;
      }
    },
    async remove(name) {
      const s = sups.get(name);
      conns.get(name)?.close();
      conns.delete(name);
      if (s) {
        sups.delete(name);
        desired.delete(name);
        await s.sup.stop();
        return;
      }
      if (!validIfname(name) || !existsSync(sockPath(name)))
        throw new WgctrlError('ERR_WG_NO_DEVICE', 'no UAPI socket', { device: name, backend: 'uapi' });
      // wireguard-go shuts the device down when its socket disappears.
      rmSync(sockPath(name), { force: true });
    },
    supervised() {
      return [...sups.values()].map(({ sup }) => ({ name: sup.name, pid: sup.pid, restarts: sup.restarts }));
    },
    async close() {
      for (const c of conns.values()) c.close();
      conns.clear();
      const all = [...sups.values()];
      sups.clear();
      await Promise.all(all.map(({ sup }) => sup.stop()));
      rtnl?.close();
      rtnl = undefined;
    },
  };
}
