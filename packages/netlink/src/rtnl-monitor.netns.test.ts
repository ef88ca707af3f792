import { spawnSync } from 'node:child_process';
import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed } from '@bmx7/testenv/netns';
import { afterAll, expect, it } from 'vitest';
import { RTM_NEWADDR } from './rtnl-addr.js';
import { decodeLinkMsg, RTM_NEWLINK } from './rtnl-link.js';
import { RTMGRP_IPV6_IFADDR, RTMGRP_LINK } from './rtnl-monitor.js';

// the monitor lives in the caller's namespace: a child process inside the bed's namespace opens
// it, then the test changes links and addresses there and the child reports what it saw
const child = `
import { openRtnlMonitor, RTMGRP_LINK, RTMGRP_IPV6_IFADDR } from ${JSON.stringify(new URL('./rtnl-monitor.ts', import.meta.url).pathname)};
const m = openRtnlMonitor(RTMGRP_LINK | RTMGRP_IPV6_IFADDR);
console.log(JSON.stringify({ ready: true, early: m.poll().length }));
process.stdin.once('data', () => {
  const msgs = m.poll();
  console.log(JSON.stringify(msgs.map((x) => ({ type: x.type, payload: Buffer.from(x.payload).toString('hex') }))));
  m.close();
});
`;

// the same through the worker-driven watcher: the child prints every batch it is woken for
const watcherChild = `
import { watchRtnl, RTMGRP_LINK, RTMGRP_IPV6_IFADDR } from ${JSON.stringify(new URL('./rtnl-monitor.ts', import.meta.url).pathname)};
import { decodeLinkMsg, RTM_NEWLINK } from ${JSON.stringify(new URL('./rtnl-link.ts', import.meta.url).pathname)};
import { RTM_NEWADDR } from ${JSON.stringify(new URL('./rtnl-addr.ts', import.meta.url).pathname)};
const names = new Set();
let addrs = 0;
let batches = 0;
const w = watchRtnl(RTMGRP_LINK | RTMGRP_IPV6_IFADDR, (msgs, overrun) => {
  batches++;
  for (const m of msgs) {
    if (m.type === RTM_NEWADDR) addrs++;
    if (m.type !== RTM_NEWLINK) continue;
    const d = decodeLinkMsg(m.payload);
    if (d.ok) names.add(d.value.name);
  }
  console.log(JSON.stringify({ names: [...names].sort(), addrs, batches, overrun }));
}, { onError: (e) => console.log(JSON.stringify({ error: e.message })) });
console.log(JSON.stringify({ ready: true }));
process.stdin.once('data', async () => {
  await w.close();
  console.log(JSON.stringify({ closed: true, batches }));
  process.stdin.destroy();
});
`;

describeNetns('rtnetlink notifications', () => {
  const bed = createNetnsBed('nm');
  afterAll(() => bed.cleanup());

  it('reports new links and addresses, and nothing when nothing changed', async () => {
    const ns = bed.ns('a');
    const p = bed.spawn(ns, process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let buf = '';
    p.stdout?.on('data', (d) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      lines.push(...parts);
    });
    const until = async (n: number) => {
      for (let i = 0; i < 200 && lines.length < n; i++) await new Promise((r) => setTimeout(r, 50));
    };
    await until(1);
    expect(JSON.parse(lines[0] as string)).toEqual({ ready: true, early: 0 });
    expect(
      spawnSync('ip', ['-n', ns, 'link', 'add', 'm0', 'type', 'veth', 'peer', 'name', 'm1']).status,
    ).toBe(0);
    expect(spawnSync('ip', ['-n', ns, '-6', 'addr', 'add', 'fd70::7/16', 'dev', 'm0', 'nodad']).status).toBe(
      0,
    );
    p.stdin?.write('go\n');
    await until(2);
    const msgs = JSON.parse(lines[1] as string) as { type: number; payload: string }[];
    const names = msgs
      .filter((m) => m.type === RTM_NEWLINK)
      .map((m) => decodeLinkMsg(Buffer.from(m.payload, 'hex')))
      .map((d) => (d.ok ? d.value.name : undefined));
    expect(names).toEqual(expect.arrayContaining(['m0', 'm1']));
    expect(msgs.some((m) => m.type === RTM_NEWADDR)).toBe(true);
    expect(RTMGRP_LINK | RTMGRP_IPV6_IFADDR).toBe(0x101);
  });

  it('a watcher wakes the main thread when the kernel writes, and stops on close', async () => {
    const ns = bed.ns('b');
    const p = bed.spawn(
      ns,
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', watcherChild],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    const lines: Record<string, unknown>[] = [];
    let buf = '';
    p.stdout?.on('data', (d) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const l of parts) if (l.trim()) lines.push(JSON.parse(l));
    });
    const until = async (what: string, ok: () => boolean) => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
      if (!ok()) throw new Error(`${what}: ${JSON.stringify(lines)}`);
    };
    await until('ready', () => lines.some((l) => l.ready));
    // nothing changed: no batch
    await new Promise((r) => setTimeout(r, 300));
    expect(lines).toEqual([{ ready: true }]);
    expect(
      spawnSync('ip', ['-n', ns, 'link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1']).status,
    ).toBe(0);
    await until('w0 and w1', () => {
      const last = lines.at(-1) as { names?: string[] };
      return last.names?.includes('w0') === true && last.names.includes('w1');
    });
    expect(spawnSync('ip', ['-n', ns, '-6', 'addr', 'add', 'fd70::8/16', 'dev', 'w0', 'nodad']).status).toBe(
      0,
    );
    await until('the address', () => ((lines.at(-1) as { addrs?: number }).addrs ?? 0) > 0);
    // a burst of changes arrives in few batches, nothing lost
    for (let i = 0; i < 30; i++) spawnSync('ip', ['-n', ns, 'link', 'set', 'w0', i % 2 ? 'up' : 'down']);
    await until('the burst', () => (lines.at(-1) as { overrun?: boolean }).overrun === false);
    expect(lines.some((l) => l.error !== undefined || l.overrun === true)).toBe(false);
    p.stdin?.write('stop\n');
    await until('closed', () => lines.some((l) => l.closed));
    // the process ends by itself: the reader thread is gone
    expect(await exited).toBe(0);
  });
});
