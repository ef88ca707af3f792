import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createMemoryNetlinkSocket,
  createNetlinkClient,
  decodeAddrMsg,
  decodeRouteMsg,
  decodeRuleMsg,
  NETLINK_ROUTE,
  type NlMsg,
  nlAck,
  nlDone,
  nlReply,
} from '@bmx7/netlink';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openJournal } from './journal.js';
import { createKernel, undoEntry } from './kernel.js';

const logger = { log() {} };

function twin() {
  const seen: NlMsg[] = [];
  const rules = new Map<string, Uint8Array>();
  const sock = createMemoryNetlinkSocket(NETLINK_ROUTE, (req) => {
    seen.push(req);
    // dumps (links, routes, addresses) answer empty, rules with what was added; changes are acknowledged
    if (req.type === 34)
      return [...rules.values()].map((p) => nlReply(req, 32, p, true)).concat([nlDone(req)]);
    if (req.type === 32) rules.set(JSON.stringify([...req.payload]), req.payload);
    if (req.type === 33) rules.delete(JSON.stringify([...req.payload]));
    if (req.type === 18 || req.type === 26 || req.type === 22) return [nlDone(req)];
    return [nlAck(req)];
  });
  return { nl: createNetlinkClient(sock), seen };
}

describe('kernel changes and the journal', () => {
  it('journals every change before making it, and a clean stop undoes all of it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmx7d-k-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'sys/net/ipv6/conf/all'), { recursive: true });
    writeFileSync(join(dir, 'sys/net/ipv6/conf/all/forwarding'), '0\n');
    const { nl, seen } = twin();
    const journal = openJournal(join(dir, 'journal'));
    const k = createKernel({
      nl,
      journal,
      logger,
      table: 70,
      rulePref: 70,
      policyRouting: true,
      ifindex: (n) => (n === 'eth1' ? 3 : undefined),
      procSys: join(dir, 'sys'),
    });
    k.sysctl('net/ipv6/conf/all/forwarding', '1');
    k.ensureRule();
    k.addPrimary('eth1', 'fd70::1', false);
    k.routes.set({ prefix: 'fd70::2/128', via: 'fe80::2', dev: 'eth1', metric: 1024 });
    k.routes.set({ prefix: 'fd70::3/128', via: 'fe80::2', dev: 'eth9', metric: 1024 }); // no such interface yet
    expect(readFileSync(join(dir, 'sys/net/ipv6/conf/all/forwarding'), 'utf8')).toBe('1');
    k.routes.set({ prefix: '10.9.0.0/16', dev: 'eth1', metric: 0, table: 100, src: '10.0.0.1' });
    k.routes.set({ prefix: 'fd70::/16', type: 'unreachable', metric: 4096, table: 100 });
    k.rules.add({ family: 4, priority: 100, table: 100, from: '10.0.0.0/8', to: '10.9.0.0/16', iif: 'lo' });
    expect(journal.entries().map((e) => e.kind)).toEqual([
      'sysctl',
      'rule',
      'addr',
      'route',
      'route',
      'route',
      'rule',
    ]);
    const route = seen.find((m) => m.type === 24)!;
    expect(decodeRouteMsg(route.payload)).toMatchObject({
      value: { dst: 'fd70::2/128', gateway: 'fe80::2', oif: 3, table: 70, protocol: 4, metric: 1024 },
    });
    expect(decodeRuleMsg(seen.find((m) => m.type === 32)!.payload)).toMatchObject({
      value: { priority: 70, table: 70 },
    });
    expect(decodeAddrMsg(seen.find((m) => m.type === 20)!.payload)).toMatchObject({
      value: { address: 'fd70::1', prefixLen: 16, index: 3 },
    });
    const routes = seen.filter((m) => m.type === 24).map((m) => decodeRouteMsg(m.payload));
    expect(routes[1]).toMatchObject({
      value: {
        family: 2,
        dst: '10.9.0.0/16',
        oif: 3,
        table: 100,
        metric: 0,
        scope: 253,
        prefsrc: '10.0.0.1',
      },
    });
    expect(routes[1]!.ok && routes[1]!.value.gateway).toBe(undefined);
    expect(routes[2]).toMatchObject({ value: { family: 10, dst: 'fd70::/16', type: 7, table: 100 } });
    expect(routes[2]!.ok && routes[2]!.value.oif).toBe(undefined);
    expect(decodeRuleMsg(seen.filter((m) => m.type === 32)[1]!.payload)).toMatchObject({
      value: { family: 2, priority: 100, table: 100, src: '10.0.0.0/8', dst: '10.9.0.0/16', iif: 'lo' },
    });
    expect(k.installed().map((r) => `${r.table} ${r.prefix}`)).toEqual([
      '70 fd70::2/128',
      '100 10.9.0.0/16',
      '100 fd70::/16',
    ]);
    expect(k.installedRules()).toHaveLength(2);

    // a route removed while running leaves the journal; a rule too
    k.routes.removeKey({ prefix: 'fd70::/16', table: 100, metric: 4096 });
    k.rules.remove({
      family: 4,
      priority: 100,
      table: 100,
      from: '10.0.0.0/8',
      to: '10.9.0.0/16',
      iif: 'lo',
    });
    expect(journal.entries().map((e) => e.kind)).toEqual(['sysctl', 'rule', 'addr', 'route', 'route']);

    // a second journal opened on the same file sees the leftovers (what a start after kill -9 does)
    expect(openJournal(join(dir, 'journal')).leftovers).toEqual(journal.entries());
    seen.length = 0;
    k.restoreAll();
    expect(seen.filter((m) => m.type === 25)).toHaveLength(2); // RTM_DELROUTE
    expect(seen.filter((m) => m.type === 33)).toHaveLength(1); // RTM_DELRULE
    expect(readFileSync(join(dir, 'sys/net/ipv6/conf/all/forwarding'), 'utf8')).toBe('0');
    expect(journal.entries()).toEqual([]);
    expect(openJournal(join(dir, 'journal')).leftovers).toEqual([]);
  });

  it('undoing tolerates entries whose change is gone already, and half-written lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmx7d-k-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'journal'), '{"kind":"rule","family":10,"priority":70,"table":70}\n{"kind":"ad');
    const j = openJournal(join(dir, 'journal'));
    expect(j.leftovers).toHaveLength(1);
    const { nl } = twin();
    expect(() => undoEntry(nl, { kind: 'sysctl', path: 'nope/nope', old: '0' }, logger, dir)).not.toThrow();
    expect(() => undoEntry(nl, j.leftovers[0]!, logger)).not.toThrow();
  });
});

describe('the journal file', () => {
  it('marks undone entries by appending, compacts, and replays both after a crash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmx7d-k-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'journal');
    const j = openJournal(path);
    const route = (n: number) =>
      ({ kind: 'route', family: 10, table: 70, dst: `fd70::${n}/128`, metric: 1024, protocol: 4 }) as const;
    for (let n = 1; n <= 100; n++) j.add(route(n));
    j.remove((e) => e.kind === 'route' && e.dst === 'fd70::7/128');
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(101);
    expect(openJournal(path).leftovers).toHaveLength(99);
    for (let n = 8; n <= 90; n++) j.remove((e) => e.kind === 'route' && e.dst === `fd70::${n}/128`);
    // compacted once the undone lines outnumbered the live ones by enough
    expect(readFileSync(path, 'utf8').trim().split('\n').length).toBeLessThan(100);
    const again = openJournal(path);
    expect(again.leftovers.map((e) => (e.kind === 'route' ? e.dst : ''))).toEqual(
      [1, 2, 3, 4, 5, 6, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100].map((n) => `fd70::${n}/128`),
    );
    // opening a journal with undone lines rewrites it without them
    expect(readFileSync(path, 'utf8')).not.toContain('undone');
    j.remove(() => true);
    expect(readFileSync(path, 'utf8')).toBe('');
  });
});
