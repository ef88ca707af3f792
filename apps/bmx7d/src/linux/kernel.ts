/**
 * The daemon's changes to the kernel, all through rtnetlink (no `ip` processes) and /proc/sys:
 * the host routes of the engine's routes port (table 70, proto static, metric 1024 by default),
 * the policy rule `pref 70 lookup 70`, the primary address on every BMX interface and the
 * forwarding sysctls (bmx7-wire 2.1). Every change is journalled first, so that `restoreAll` on a
 * clean stop and `undoLeftovers` after a crash put the system back.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger, Route, RoutesPort } from '@bmx7/core';
import {
  AF_INET6,
  IFA_F_NODAD,
  type NetlinkClient,
  NetlinkError,
  RTPROT_STATIC,
  rtnlDelAddr,
  rtnlDelRoute,
  rtnlDelRule,
  rtnlGetLinks,
  rtnlGetRoutes,
  rtnlGetRules,
  rtnlNewAddr,
  rtnlNewRoute,
  rtnlNewRule,
} from '@bmx7/netlink';
import type { Journal, JournalEntry } from './journal.js';

const EEXIST = 17;

export interface KernelInit {
  nl: NetlinkClient;
  journal: Journal;
  logger: Logger;
  table: number;
  rulePref: number;
  policyRouting: boolean;
  /** Reads an interface index by name (undefined while it does not exist). */
  ifindex(name: string): number | undefined;
  /** /proc/sys root (tests point it elsewhere). */
  procSys?: string;
}

export interface Kernel {
  routes: RoutesPort;
  /** Adds the rule when policy routing is on (once). */
  ensureRule(): void;
  /** Puts the primary address (/16, as the reference) on an interface; `present`: it is there already. */
  addPrimary(dev: string, address: string, present: boolean): void;
  removePrimary(dev: string): void;
  /** Sets a sysctl (`net/ipv6/conf/all/forwarding`), remembering the old value. */
  sysctl(path: string, value: string): void;
  /** Re-installs the routes the engine wants on an interface that came back. */
  resync(dev: string): void;
  /** Routes currently installed (prefix → route). */
  installed(): Map<string, Route>;
  /** Undoes every journalled change (clean stop). */
  restoreAll(): void;
}

export const PRIMARY_PREFIX_LEN = 16;

function errnoOf(e: unknown): number | undefined {
  return e instanceof NetlinkError ? e.errno : undefined;
}

/** Undoes one journal entry; errors (already gone) are ignored. */
export function undoEntry(nl: NetlinkClient, e: JournalEntry, logger: Logger, procSys = '/proc/sys'): void {
  try {
    switch (e.kind) {
      case 'routes':
        for (const r of rtnlGetRoutes(nl, e.family, e.table)) {
          if (r.protocol !== e.protocol) continue;
          rtnlDelRoute(nl, {
            dst: r.dst,
            table: e.table,
            protocol: e.protocol,
            ...(r.oif ? { oif: r.oif } : {}),
          });
        }
        break;
      case 'rule':
        if (rtnlGetRules(nl, e.family).some((r) => r.priority === e.priority && r.table === e.table))
          rtnlDelRule(nl, e);
        break;
      case 'addr': {
        const link = rtnlGetLinks(nl).find((l) => l.name === e.dev);
        if (link) rtnlDelAddr(nl, { index: link.index, address: e.address, prefixLen: e.prefixLen });
        break;
      }
      case 'sysctl':
        writeFileSync(`${procSys}/${e.path}`, e.old);
        break;
    }
  } catch (err) {
    logger.log(4, 'undo: already gone', { kind: e.kind, error: String(err) });
  }
}

export function createKernel(init: KernelInit): Kernel {
  const { nl, journal, logger } = init;
  const procSys = init.procSys ?? '/proc/sys';
  const wanted = new Map<string, Route>();
  const installed = new Map<string, Route>();
  const primaries = new Map<string, { address: string; index: number }>();
  let ruleAdded = false;
  let routesJournalled = false;

  const install = (r: Route): boolean => {
    const oif = init.ifindex(r.dev);
    if (oif === undefined) return false;
    if (!routesJournalled) {
      journal.add({ kind: 'routes', family: AF_INET6, table: init.table, protocol: RTPROT_STATIC });
      routesJournalled = true;
    }
    try {
      rtnlNewRoute(nl, {
        dst: r.prefix,
        gateway: r.via,
        oif,
        table: init.table,
        protocol: RTPROT_STATIC,
        metric: r.metric,
      });
      installed.set(r.prefix, r);
      logger.log(3, 'route added', { prefix: r.prefix, via: r.via, dev: r.dev });
      return true;
    } catch (err) {
      logger.log(0, 'route add failed', { prefix: r.prefix, via: r.via, dev: r.dev, error: String(err) });
      return false;
    }
  };
  const uninstall = (prefix: string): void => {
    const r = installed.get(prefix);
    if (!r) return;
    installed.delete(prefix);
    try {
      rtnlDelRoute(nl, { dst: prefix, table: init.table, protocol: RTPROT_STATIC });
      logger.log(3, 'route removed', { prefix });
    } catch (err) {
      logger.log(4, 'route remove failed', { prefix, error: String(err) });
    }
  };

  const kernel: Kernel = {
    routes: {
      set(r) {
        wanted.set(r.prefix, r);
        install(r);
      },
      remove(prefix) {
        wanted.delete(prefix);
        uninstall(prefix);
      },
    },
    ensureRule() {
      if (!init.policyRouting || ruleAdded) return;
      const rule = { family: AF_INET6, priority: init.rulePref, table: init.table };
      if (rtnlGetRules(nl, AF_INET6).some((r) => r.priority === rule.priority && r.table === rule.table)) {
        logger.log(3, 'rule exists already', rule);
        return;
      }
      journal.add({ kind: 'rule', ...rule });
      rtnlNewRule(nl, rule);
      ruleAdded = true;
      logger.log(3, 'rule added', rule);
    },
    addPrimary(dev, address, present) {
      const index = init.ifindex(dev);
      if (index === undefined) return;
      const cur = primaries.get(dev);
      if (cur && cur.index === index && present) return;
      if (!cur && present) {
        // there before us (not ours to remove), or left by a crashed run and cleaned up since
        logger.log(3, 'primary address present already', { dev, address });
        return;
      }
      const entry: JournalEntry = { kind: 'addr', dev, address, prefixLen: PRIMARY_PREFIX_LEN };
      if (!cur) journal.add(entry);
      try {
        rtnlNewAddr(nl, { index, address, prefixLen: PRIMARY_PREFIX_LEN, flags: IFA_F_NODAD });
        logger.log(3, 'primary address added', { dev, address: `${address}/${PRIMARY_PREFIX_LEN}` });
      } catch (err) {
        if (errnoOf(err) !== EEXIST) {
          journal.remove((e) => e.kind === 'addr' && e.dev === dev);
          throw err;
        }
      }
      primaries.set(dev, { address, index });
    },
    removePrimary(dev) {
      const p = primaries.get(dev);
      if (!p) return;
      primaries.delete(dev);
      undoEntry(
        nl,
        { kind: 'addr', dev, address: p.address, prefixLen: PRIMARY_PREFIX_LEN },
        logger,
        procSys,
      );
      journal.remove((e) => e.kind === 'addr' && e.dev === dev);
    },
    sysctl(path, value) {
      const file = `${procSys}/${path}`;
      const old = readFileSync(file, 'utf8').trim();
      if (old === value) return;
      if (!journal.entries().some((e) => e.kind === 'sysctl' && e.path === path))
        journal.add({ kind: 'sysctl', path, old });
      writeFileSync(file, value);
      logger.log(3, 'sysctl set', { path, value, old });
    },
    resync(dev) {
      for (const r of wanted.values()) if (r.dev === dev) install(r);
    },
    installed: () => new Map(installed),
    restoreAll() {
      for (const prefix of [...installed.keys()]) uninstall(prefix);
      // undo in reverse order: routes, addresses, rule, then sysctls
      for (const e of journal.entries().reverse()) undoEntry(nl, e, logger, procSys);
      journal.remove(() => true);
      primaries.clear();
      ruleAdded = false;
      routesJournalled = false;
    },
  };
  return kernel;
}
