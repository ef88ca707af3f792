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
});
