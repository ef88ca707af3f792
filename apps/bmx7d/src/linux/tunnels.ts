/**
 * The tun plugin's view of the system: a tunnel backend whose kernel devices are journaled (an
 * ip6tnl device outlives a killed daemon; a userspace twin's TUN device does not), and the
 * addresses and sysctls the plugin asks for. Addresses live on the plugin's own devices and go
 * with them; sysctls go through the kernel adapter, which restores them.
 */

import type { ConfigState } from '@bmx7/control';
import type { Logger } from '@bmx7/core';
import {
  IFA_F_NODAD,
  INFINITY_LIFE_TIME,
  type NetlinkClient,
  NetlinkError,
  rtnlDelAddr,
  rtnlGetLink,
  rtnlNewAddr,
} from '@bmx7/netlink';
import {
  createKernelBackend,
  createUserspaceBackend,
  kernelTunnelsUnavailableReason,
  type TunnelBackend,
  type TunSystemPort,
} from '@bmx7/plugin-tun';
import type { Journal } from './journal.js';
import type { Kernel } from './kernel.js';

export interface TunnelSystemInit {
  nl: NetlinkClient;
  journal: Journal;
  logger: Logger;
  kernel: Kernel;
  backend: TunnelBackend;
  /** A device was made: the daemon re-reads its links, so routes into the device can be installed. */
  onDevice(name: string): void;
}

const EEXIST = 17;
const EADDRNOTAVAIL = 99;
const errno = (e: unknown) => (e instanceof NetlinkError ? e.errno : undefined);

export function createTunnelSystem(init: TunnelSystemInit): {
  tunnels: TunnelBackend;
  system: TunSystemPort;
} {
  const { nl, journal, logger, kernel, backend } = init;
  const journaled = backend.kind === 'kernel';
  const forget = (name: string) => journal.remove((e) => e.kind === 'link' && e.name === name);
  const tunnels: TunnelBackend = {
    kind: backend.kind,
    async create(spec) {
      if (journaled) journal.add({ kind: 'link', name: spec.name });
      try {
        const t = await backend.create(spec);
        init.onDevice(spec.name);
        return t;
      } catch (e) {
        if (journaled) forget(spec.name);
        throw e;
      }
    },
    update: (spec) => backend.update(spec),
    async remove(name) {
      await backend.remove(name);
      if (journaled) forget(name);
    },
    list: () => backend.list(),
    async close() {
      const names = backend.list().map((t) => t.name);
      await backend.close();
      if (journaled) for (const n of names) forget(n);
    },
  };
  const address = (dev: string, prefix: string) => {
    const index = rtnlGetLink(nl, { name: dev })?.index;
    if (index === undefined) throw new Error(`no device ${dev}`);
    const [address, len] = prefix.split('/');
    return { index, address: address!, prefixLen: Number(len) };
  };
  const system: TunSystemPort = {
    async addAddress(dev, prefix, options) {
      try {
        rtnlNewAddr(nl, {
          ...address(dev, prefix),
          flags: IFA_F_NODAD,
          // deprecated: usable as the tunnel's outer source, never picked as a source otherwise
          ...(options?.deprecated ? { lifetimes: { preferred: 0, valid: INFINITY_LIFE_TIME } } : {}),
        });
      } catch (e) {
        if (errno(e) !== EEXIST) throw e;
      }
      logger.log(3, 'tunnel address added', {
        dev,
        address: prefix,
        deprecated: options?.deprecated === true,
      });
    },
    async removeAddress(dev, prefix) {
      try {
        rtnlDelAddr(nl, address(dev, prefix));
      } catch (e) {
        if (errno(e) !== EADDRNOTAVAIL) throw e;
      }
    },
    sysctl: (path, value) => kernel.sysctl(path, value),
  };
  return { tunnels, system };
}

/**
 * The data plane `tunBackend` asks for: the kernel's ip6tnl, its userspace twin, or (auto) the
 * kernel's where the kernel has ip6_tunnel and the twin elsewhere.
 */
export function chooseTunnelBackend(state: ConfigState, logger: Logger): TunnelBackend {
  const s = state.get('tunBackend');
  const mode = s?.kind === 'single' ? String(s.value) : 'auto';
  const userspace = () =>
    createUserspaceBackend({
      onError: (err) => logger.log(0, 'userspace tunnels stopped', { error: err.message }),
    });
  if (mode === 'userspace') return userspace();
  const why = kernelTunnelsUnavailableReason();
  if (mode === 'kernel' || why === undefined) {
    if (why !== undefined) logger.log(0, 'kernel tunnels unavailable, tunnels will fail', { reason: why });
    return createKernelBackend();
  }
  logger.log(3, 'kernel tunnels unavailable, using the userspace twin', { reason: why });
  return userspace();
}
