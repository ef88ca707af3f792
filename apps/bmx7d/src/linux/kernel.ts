/**
 * The daemon's changes to the kernel, all through rtnetlink (no `ip` processes) and /proc/sys:
 * the routes of the routes port (IPv4 and IPv6, table 70 unless a route names another, proto
 * static), the policy rules of the rules port (among them `pref 70 lookup 70`), the primary
 * address on every BMX interface and the forwarding sysctls (docs/protocol.md §2.1, §4.14). Every
 * change is journalled first, so that `restoreAll` on a clean stop and `undoEntry` over the
 * leftovers after a crash put the system back.
 *
 * A route is identified as the kernel identifies it, by (family, table, prefix, metric)
 * (rtnetlink(7)); a rule by all of its fields. A rule that was there before the daemon is left
 * alone, and so is it when the daemon stops.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger, Route, RouteKey, RoutesPort, RouteType, Rule, RulesPort } from '@bmx7/core';
import {
  AF_INET,
  AF_INET6,
  canonicalPrefix,
  IFA_F_NODAD,
  type NetlinkClient,
  NetlinkError,
  RTN_BLACKHOLE,
  RTN_PROHIBIT,
  RTN_THROW,
  RTN_UNICAST,
  RTN_UNREACHABLE,
  RTPROT_STATIC,
  type RuleSpec,
  rtnlDelAddr,
  rtnlDelLink,
  rtnlDelRoute,
  rtnlDelRule,
  rtnlGetLinks,
  rtnlGetRoutes,
  rtnlGetRules,
  rtnlNewAddr,
  rtnlNewRoute,
  rtnlNewRule,
  ruleMatches,
} from '@bmx7/netlink';
import { entryKey, type Journal, type JournalEntry } from './journal.js';

const EEXIST = 17;
const ENOENT = 2;
const ESRCH = 3;

/** The kernel's RTN_* number of each route type (linux/rtnetlink.h). */
export const RTN_OF: Record<RouteType, number> = {
  unicast: RTN_UNICAST,
  unreachable: RTN_UNREACHABLE,
  blackhole: RTN_BLACKHOLE,
  prohibit: RTN_PROHIBIT,
  throw: RTN_THROW,
};

export interface KernelInit {
  nl: NetlinkClient;
  journal: Journal;
  logger: Logger;
  /** The routes port's table: where routes without a table go (70). */
  table: number;
  rulePref: number;
  policyRouting: boolean;
  /** Reads an interface index by name (undefined while it does not exist). */
  ifindex(name: string): number | undefined;
  /** /proc/sys root (tests point it elsewhere). */
  procSys?: string;
}

export interface Kernel {
  routes: RoutesPort & { removeKey(key: RouteKey): void };
  rules: RulesPort;
  /** Adds the rule `pref rulePref lookup table` (IPv6) when policy routing is on; throws when the kernel refuses it. */
  ensureRule(): void;
  /** Puts the primary address (/16, as the reference) on an interface; `present`: it is there already. */
  addPrimary(dev: string, address: string, present: boolean): void;
  removePrimary(dev: string): void;
  /** Sets a sysctl (`net/ipv6/conf/all/forwarding`), remembering the old value. */
  sysctl(path: string, value: string): void;
  /** Re-installs the routes wanted on an interface that came back. */
  resync(dev: string): void;
  /** Routes currently installed (with their table), in the order they were first installed. */
  installed(): Route[];
  /** Rules this daemon added (not those that were there before it). */
  installedRules(): Rule[];
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
      case 'route':
        rtnlDelRoute(nl, { dst: e.dst, table: e.table, metric: e.metric, protocol: e.protocol });
        break;
      case 'routes':
        for (const r of rtnlGetRoutes(nl, e.family, e.table)) {
          if (r.protocol !== e.protocol) continue;
          rtnlDelRoute(nl, {
            dst: r.dst,
            table: e.table,
            protocol: e.protocol,
            ...(r.metric !== undefined ? { metric: r.metric } : {}),
            ...(r.oif ? { oif: r.oif } : {}),
          });
        }
        break;
      case 'rule': {
        const spec = ruleSpecOfEntry(e);
        if (rtnlGetRules(nl, e.family).some((r) => ruleMatches(r, spec))) rtnlDelRule(nl, spec);
        break;
      }
      case 'addr': {
        const link = rtnlGetLinks(nl).find((l) => l.name === e.dev);
        if (link) rtnlDelAddr(nl, { index: link.index, address: e.address, prefixLen: e.prefixLen });
        break;
      }
      case 'link':
        rtnlDelLink(nl, { name: e.name });
        break;
      case 'sysctl':
        writeFileSync(`${procSys}/${e.path}`, e.old);
        break;
    }
  } catch (err) {
    logger.log(4, 'undo: already gone', { kind: e.kind, error: String(err) });
  }
}

function ruleSpecOfEntry(e: Extract<JournalEntry, { kind: 'rule' }>): RuleSpec {
  const { kind: _, ...spec } = e;
  return spec;
}

/** A route as the kernel keeps it: table resolved, prefix canonical, family known. */
interface KRoute {
  key: string;
  family: number;
  table: number;
  dst: string;
  route: Route;
}

function kroute(r: Route, table: number): KRoute {
  const dst = canonicalPrefix(r.prefix);
  const family = dst.includes(':') ? AF_INET6 : AF_INET;
  return { key: `${family} ${table} ${dst} ${r.metric}`, family, table, dst, route: r };
}

/** The rule as rtnetlink takes it, prefixes canonical; throws RangeError on bad text. */
function ruleSpec(r: Rule): RuleSpec {
  const family = r.family === 4 ? AF_INET : AF_INET6;
  const spec: RuleSpec = { family, priority: r.priority, table: r.table };
  if (r.from !== undefined) spec.src = canonicalPrefix(r.from);
  if (r.to !== undefined) spec.dst = canonicalPrefix(r.to);
  if (r.iif !== undefined) spec.iif = r.iif;
  if (r.oif !== undefined) spec.oif = r.oif;
  return spec;
}

function ruleOfSpec(s: RuleSpec): Rule {
  const r: Rule = { family: s.family === AF_INET ? 4 : 6, priority: s.priority, table: s.table };
  if (s.src !== undefined) r.from = s.src;
  if (s.dst !== undefined) r.to = s.dst;
  if (s.iif !== undefined) r.iif = s.iif;
  if (s.oif !== undefined) r.oif = s.oif;
  return r;
}

export function createKernel(init: KernelInit): Kernel {
  const { nl, journal, logger } = init;
  const procSys = init.procSys ?? '/proc/sys';
  /** key → route, every route asked for (installed or waiting for its device). */
  const wanted = new Map<string, KRoute>();
  const installed = new Map<string, KRoute>();
  const primaries = new Map<string, { address: string; index: number }>();
  /** Rules this daemon added, and rules it found there already (never removed), by identity. */
  const ownRules = new Map<string, RuleSpec>();
  const foreignRules = new Set<string>();

  const routeEntry = (k: KRoute): JournalEntry => ({
    kind: 'route',
    family: k.family,
    table: k.table,
    dst: k.dst,
    metric: k.route.metric,
    protocol: RTPROT_STATIC,
  });
  const forget = (e: JournalEntry) => {
    const key = entryKey(e);
    journal.remove((x) => x.kind === e.kind && entryKey(x) === key);
  };

  const install = (k: KRoute): boolean => {
    const r = k.route;
    let oif: number | undefined;
    if (r.dev !== undefined) {
      oif = init.ifindex(r.dev);
      if (oif === undefined) return false; // resync installs it when the device comes
    }
    const fresh = !installed.has(k.key);
    if (fresh) journal.add(routeEntry(k));
    try {
      rtnlNewRoute(nl, {
        dst: k.dst,
        table: k.table,
        protocol: RTPROT_STATIC,
        metric: r.metric,
        type: RTN_OF[r.type ?? 'unicast'],
        ...(r.via !== undefined ? { gateway: r.via } : {}),
        ...(oif !== undefined ? { oif } : {}),
        ...(r.src !== undefined ? { prefsrc: r.src } : {}),
      });
      installed.set(k.key, k);
      logger.log(3, 'route added', {
        prefix: k.dst,
        table: k.table,
        metric: r.metric,
        via: r.via,
        dev: r.dev,
      });
      return true;
    } catch (err) {
      if (fresh) forget(routeEntry(k));
      logger.log(0, 'route add failed', {
        prefix: k.dst,
        table: k.table,
        via: r.via,
        dev: r.dev,
        error: String(err),
      });
      return false;
    }
  };
  const uninstall = (key: string): void => {
    const k = installed.get(key);
    if (!k) return;
    installed.delete(key);
    try {
      rtnlDelRoute(nl, { dst: k.dst, table: k.table, metric: k.route.metric, protocol: RTPROT_STATIC });
      logger.log(3, 'route removed', { prefix: k.dst, table: k.table, metric: k.route.metric });
    } catch (err) {
      // ESRCH: gone with its device already
      if (!(err instanceof NetlinkError && err.errno === ESRCH))
        logger.log(0, 'route remove failed', { prefix: k.dst, table: k.table, error: String(err) });
    }
    forget(routeEntry(k));
  };
  const removeWhere = (table: number, prefix: string, metric: number | undefined): void => {
    let dst: string;
    try {
      dst = canonicalPrefix(prefix);
    } catch {
      return; // never added
    }
    if (metric !== undefined) {
      const family = dst.includes(':') ? AF_INET6 : AF_INET;
      const key = `${family} ${table} ${dst} ${metric}`;
      wanted.delete(key);
      uninstall(key);
      return;
    }
    for (const [key, k] of wanted) {
      if (k.table !== table || k.dst !== dst) continue;
      wanted.delete(key);
      uninstall(key);
    }
    for (const [key, k] of installed) if (k.table === table && k.dst === dst) uninstall(key);
  };

  /** Adds a rule; 'present' when the kernel has it already (then it is not ours). Throws on refusal. */
  const addRule = (rule: Rule): 'added' | 'present' | 'known' => {
    const spec = ruleSpec(rule);
    const id = entryKey({ kind: 'rule', ...spec });
    if (ownRules.has(id) || foreignRules.has(id)) return 'known';
    const entry: JournalEntry = { kind: 'rule', ...spec };
    journal.add(entry);
    try {
      rtnlNewRule(nl, spec);
    } catch (err) {
      forget(entry);
      if (err instanceof NetlinkError && err.errno === EEXIST) {
        foreignRules.add(id);
        logger.log(3, 'rule exists already', { ...rule });
        return 'present';
      }
      throw err;
    }
    ownRules.set(id, spec);
    logger.log(3, 'rule added', { ...rule });
    return 'added';
  };

  const kernel: Kernel = {
    routes: {
      set(r) {
        let k: KRoute;
        try {
          k = kroute(r, r.table ?? init.table);
        } catch (err) {
          logger.log(0, 'route refused', { prefix: r.prefix, error: String(err) });
          return;
        }
        wanted.set(k.key, k);
        install(k);
      },
      remove(prefix) {
        removeWhere(init.table, prefix, undefined);
      },
      removeKey(key) {
        removeWhere(key.table ?? init.table, key.prefix, key.metric);
      },
    },
    rules: {
      add(rule) {
        try {
          addRule(rule);
        } catch (err) {
          logger.log(0, 'rule add failed', { ...rule, error: String(err) });
        }
      },
      remove(rule) {
        let spec: RuleSpec;
        try {
          spec = ruleSpec(rule);
        } catch {
          return; // never added
        }
        const entry: JournalEntry = { kind: 'rule', ...spec };
        const id = entryKey(entry);
        if (foreignRules.delete(id) || !ownRules.delete(id)) return;
        try {
          rtnlDelRule(nl, spec);
          logger.log(3, 'rule removed', { ...rule });
        } catch (err) {
          if (!(err instanceof NetlinkError && err.errno === ENOENT))
            logger.log(0, 'rule remove failed', { ...rule, error: String(err) });
        }
        forget(entry);
      },
    },
    ensureRule() {
      if (!init.policyRouting) return;
      addRule({ family: 6, priority: init.rulePref, table: init.table });
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
      for (const k of wanted.values()) if (k.route.dev === dev) install(k);
    },
    installed: () => [...installed.values()].map((k) => ({ ...k.route, table: k.table })),
    installedRules: () => [...ownRules.values()].map(ruleOfSpec),
    restoreAll() {
      // undo in reverse order: routes, rules, addresses, then sysctls; one rewrite of the journal
      for (const e of journal.entries().reverse()) undoEntry(nl, e, logger, procSys);
      journal.remove(() => true);
      wanted.clear();
      installed.clear();
      ownRules.clear();
      foreignRules.clear();
      primaries.clear();
    },
  };
  return kernel;
}
