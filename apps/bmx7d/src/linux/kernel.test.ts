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
} from '@bmx7/netlink';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openJournal } from './journal.js';
import { createKernel, undoEntry } from './kernel.js';

const logger = { log() {} };

function twin() {
  const seen: NlMsg[] = [];
  const sock = createMemoryNetlinkSocket(NETLINK_ROUTE, (req) => {
    seen.push(req);
    // dumps (links, rules, routes) answer empty; every change is acknowledged
    if (req.type === 18 || req.type === 34 || req.type === 26 || req.type === 22) return [nlDone(req)];
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
    expect(journal.entries().map((e) => e.kind)).toEqual(['sysctl', 'rule', 'addr', 'routes']);
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
    expect([...k.installed().keys()]).toEqual(['fd70::2/128']);

    // a second journal opened on the same file sees the leftovers (what a start after kill -9 does)
    expect(openJournal(join(dir, 'journal')).leftovers).toHaveLength(4);
    seen.length = 0;
    k.restoreAll();
    expect(seen.map((m) => m.type)).toContain(25); // RTM_DELROUTE
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
