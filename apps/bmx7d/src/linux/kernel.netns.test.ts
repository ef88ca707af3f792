// The Linux routes and rules adapter in a namespace of its own (a veth pair a:eth1 ↔ b:eth1):
// the ports' compliance suites, the messages against what `ip -j` prints, and the journal
// putting everything back after a clean stop and after a crash.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Route, Rule } from '@bmx7/core';
import {
  AF_INET,
  AF_INET6,
  createNetlinkClient,
  NETLINK_ROUTE,
  type NetlinkClient,
  openNetlinkSocket,
  RTPROT_STATIC,
  rtnlGetLinks,
  rtnlGetRoutes,
  rtnlGetRules,
} from '@bmx7/netlink';
import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed } from '@bmx7/testenv/netns';
import { describeRoutesCompliance, describeRulesCompliance } from '@bmx7/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openJournal } from './journal.js';
import { createKernel, type Kernel, RTN_OF, undoEntry } from './kernel.js';

const logger = { log() {} };
const TABLE = 70;
const TYPE_OF = new Map(Object.entries(RTN_OF).map(([name, n]) => [n, name as NonNullable<Route['type']>]));
/** Rules every namespace starts with (local, main, default). */
const STANDARD_PREFS = new Set([0, 32766, 32767]);

describeNetns('kernel routes and rules (Linux adapter)', () => {
  const bed = createNetnsBed('kr');
  let ns = '';
  let nl: NetlinkClient;
  const dirs: string[] = [];
  afterAll(() => {
    nl?.close();
    bed.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  beforeAll(() => {
    ns = bed.ns('a');
    const b = bed.ns('b');
    bed.execOk(ns, 'sysctl', ['-qw', 'net.ipv6.conf.default.accept_dad=0']);
    bed.veth(ns, b, { nameA: 'eth1', nameB: 'eth1' });
    bed.execOk(ns, 'ip', ['addr', 'add', '10.0.0.1/24', 'dev', 'eth1']);
    bed.execOk(ns, 'ip', ['-6', 'addr', 'add', 'fd70:1::1/64', 'dev', 'eth1', 'nodad']);
    nl = createNetlinkClient(openNetlinkSocket(NETLINK_ROUTE, { netns: ns }));
  });

  const ifindex = (name: string) => rtnlGetLinks(nl).find((l) => l.name === name)?.index;
  const journalPath = () => {
    const d = mkdtempSync(join(tmpdir(), 'bmx7d-kn-'));
    dirs.push(d);
    return join(d, 'journal');
  };
  const kernelAt = (path: string): Kernel =>
    createKernel({
      nl,
      journal: openJournal(path),
      logger,
      table: TABLE,
      rulePref: 70,
      policyRouting: true,
      ifindex,
    });

  /** Every static route in every table, as Route values (table left out for the port's, type for unicast). */
  const readRoutes = (): Route[] => {
    const names = new Map(rtnlGetLinks(nl).map((l) => [l.index, l.name]));
    const out: Route[] = [];
    for (const family of [AF_INET, AF_INET6]) {
      for (const m of rtnlGetRoutes(nl, family)) {
        if (m.protocol !== RTPROT_STATIC) continue;
        const type = TYPE_OF.get(m.type) ?? 'unicast';
        const r: Route = { prefix: m.dst, metric: m.metric ?? 0 };
        if (m.gateway !== undefined) r.via = m.gateway;
        // reject routes of IPv6 hang off lo in the kernel: not a device of the route
        if (m.oif !== undefined && type === 'unicast') r.dev = names.get(m.oif) ?? `#${m.oif}`;
        if (m.table !== TABLE) r.table = m.table;
        if (m.prefsrc !== undefined) r.src = m.prefsrc;
        if (type !== 'unicast') r.type = type;
        out.push(r);
      }
    }
    return out;
  };
  const readRules = (): Rule[] => {
    const out: Rule[] = [];
    for (const family of [AF_INET, AF_INET6]) {
      for (const m of rtnlGetRules(nl, family)) {
        if (STANDARD_PREFS.has(m.priority)) continue;
        const r: Rule = { family: family === AF_INET ? 4 : 6, priority: m.priority, table: m.table };
        if (m.src !== undefined) r.from = m.src;
        if (m.dst !== undefined) r.to = m.dst;
        if (m.iif !== undefined) r.iif = m.iif;
        if (m.oif !== undefined) r.oif = m.oif;
        out.push(r);
      }
    }
    return out;
  };
  /** Restores, then proves nothing of ours is left in the namespace. */
  const stop = (k: Kernel) => {
    k.restoreAll();
    expect(readRoutes()).toEqual([]);
    expect(readRules()).toEqual([]);
  };

  describeRoutesCompliance('Linux kernel in a namespace', () => {
    const k = kernelAt(journalPath());
    return {
      routes: k.routes,
      read: readRoutes,
      via: 'fe80::2',
      dev: 'eth1',
      via4: '10.0.0.2',
      src4: '10.0.0.1',
      src6: 'fd70:1::1',
      dispose: () => stop(k),
    };
  });

  describeRulesCompliance('Linux kernel in a namespace', () => {
    const k = kernelAt(journalPath());
    return { rules: k.rules, read: readRules, dispose: () => stop(k) };
  });

  /** What a daemon puts in: both families, two tables, a device route, a gateway route, rules. */
  const populate = (k: Kernel) => {
    k.ensureRule();
    k.routes.set({ prefix: 'fd70:2::2/128', via: 'fe80::2', dev: 'eth1', metric: 1024 });
    k.routes.set({ prefix: 'fd70:3::/64', dev: 'eth1', metric: 1024, table: 60, src: 'fd70:1::1' });
    k.routes.set({ prefix: '10.20.0.0/16', via: '10.0.0.2', dev: 'eth1', metric: 0 });
    k.routes.set({ prefix: '10.30.0.0/16', dev: 'eth1', metric: 7, table: 60 });
    k.routes.set({ prefix: '10.40.0.0/16', metric: 100, table: 60, type: 'blackhole' });
    k.rules.add({ family: 4, priority: 6000, table: 60, from: '10.0.0.0/24', to: '10.30.0.0/16' });
    k.rules.add({ family: 6, priority: 6001, table: 60, to: 'fd70:3::/64', iif: 'lo' });
  };

  describe('against `ip -j`', () => {
    it('routes and rules read back as `ip` prints them', () => {
      const k = kernelAt(journalPath());
      try {
        populate(k);
        const ip = (args: string[]) =>
          JSON.parse(bed.execOk(ns, 'ip', ['-j', ...args])) as Record<string, unknown>[];
        expect(ip(['-6', 'route', 'show', 'table', '70'])).toEqual([
          expect.objectContaining({
            dst: 'fd70:2::2',
            gateway: 'fe80::2',
            dev: 'eth1',
            protocol: 'static',
            metric: 1024,
          }),
        ]);
        expect(ip(['-6', 'route', 'show', 'table', '60'])).toEqual([
          expect.objectContaining({
            dst: 'fd70:3::/64',
            dev: 'eth1',
            protocol: 'static',
            prefsrc: 'fd70:1::1',
          }),
        ]);
        expect(ip(['-4', 'route', 'show', 'table', '70'])).toEqual([
          expect.objectContaining({
            dst: '10.20.0.0/16',
            gateway: '10.0.0.2',
            dev: 'eth1',
            protocol: 'static',
          }),
        ]);
        const t60 = ip(['-4', 'route', 'show', 'table', '60']);
        expect(t60).toContainEqual(
          expect.objectContaining({ dst: '10.30.0.0/16', dev: 'eth1', scope: 'link', metric: 7 }),
        );
        expect(t60).toContainEqual(
          expect.objectContaining({ type: 'blackhole', dst: '10.40.0.0/16', metric: 100 }),
        );
        expect(ip(['-4', 'rule', 'show', 'pref', '6000'])).toEqual([
          expect.objectContaining({
            priority: 6000,
            src: '10.0.0.0',
            srclen: 24,
            dst: '10.30.0.0',
            dstlen: 16,
            table: '60',
          }),
        ]);
        expect(ip(['-6', 'rule', 'show', 'pref', '6001'])).toEqual([
          expect.objectContaining({
            priority: 6001,
            src: 'all',
            dst: 'fd70:3::',
            dstlen: 64,
            iif: 'lo',
            table: '60',
          }),
        ]);
        expect(ip(['-6', 'rule', 'show', 'pref', '70'])).toEqual([
          expect.objectContaining({ priority: 70, src: 'all', table: '70' }),
        ]);
        expect(k.installed()).toHaveLength(5);
        expect(k.installedRules()).toHaveLength(3);
      } finally {
        stop(k);
      }
    });
  });

  describe('the journal', () => {
    it('a start after kill -9 removes what the crashed run left', () => {
      const path = journalPath();
      const crashed = kernelAt(path);
      populate(crashed);
      crashed.routes.removeKey({ prefix: '10.30.0.0/16', table: 60, metric: 7 }); // undone while running
      expect(readRoutes()).toHaveLength(4);
      expect(readRules()).toHaveLength(3);
      // kill -9: no restoreAll; the next start reads the journal and undoes it (as daemon.ts does)
      const next = openJournal(path);
      expect(next.leftovers.filter((e) => e.kind === 'route')).toHaveLength(4);
      for (const e of [...next.leftovers].reverse()) undoEntry(nl, e, logger);
      next.remove(() => true);
      expect(readRoutes()).toEqual([]);
      expect(readRules()).toEqual([]);
      expect(openJournal(path).leftovers).toEqual([]);
    });

    it('leaves alone a rule that was there before, and journals nothing for a refused route', () => {
      bed.execOk(ns, 'ip', ['-6', 'rule', 'add', 'pref', '70', 'lookup', '70']);
      const path = journalPath();
      const k = kernelAt(path);
      try {
        k.ensureRule();
        k.routes.set({ prefix: '10.50.0.0/16', via: '10.9.9.9', dev: 'eth1', metric: 0 }); // not on-link: refused
        k.routes.set({ prefix: 'fd70:5::/64', via: 'fe80::2', dev: 'eth7', metric: 1024 }); // no such device yet
        expect(k.installed()).toEqual([]);
        expect(openJournal(path).leftovers).toEqual([]);
        k.restoreAll();
        expect(readRules()).toEqual([{ family: 6, priority: 70, table: 70 }]);
      } finally {
        bed.execOk(ns, 'ip', ['-6', 'rule', 'del', 'pref', '70', 'lookup', '70']);
        stop(k);
      }
    });
  });
});
