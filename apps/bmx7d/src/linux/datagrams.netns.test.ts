import { spawn } from 'node:child_process';
import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, expect, it } from 'vitest';

// The adapter runs inside a namespace, so each side is a child process started with `ip netns exec`;
// the child script drives createLinuxDatagrams and reports what it received as JSON lines.
const child = `
import { createLinuxDatagrams } from ${JSON.stringify(new URL('./datagrams.ts', import.meta.url).pathname)};
import os from 'node:os';
const [ifaces, sendOn] = [process.argv[1].split(','), process.argv[2]];
const d = createLinuxDatagrams((ifname, src, p) => console.log(JSON.stringify({ ifname, src, text: Buffer.from(p).toString() })), (i, e) => console.log(JSON.stringify({ err: String(e) })));
for (const i of ifaces) {
  const ll = os.networkInterfaces()[i].find((a) => a.family === 'IPv6' && a.address.startsWith('fe80')).address;
  await d.open(i, ll);
}
console.log(JSON.stringify({ ready: true }));
if (sendOn) { let n = 0; const t = setInterval(() => { d.send(sendOn, new TextEncoder().encode('bmx' + n++)); if (n === 5) { clearInterval(t); setTimeout(() => { console.log(JSON.stringify({ stats: d.stats() })); d.closeAll(); }, 200); } }, 50); }
else setTimeout(() => d.closeAll(), 3000);
`;

describeNetns('Linux datagram adapter', () => {
  const bed = createNetnsBed('dg');
  afterAll(() => bed.cleanup());

  it('sends to ff02::2 on one interface only and tags receptions with interface and link-local source', async () => {
    const a = bed.ns('a');
    const b = bed.ns('b');
    for (const ns of [a, b]) bed.execOk(ns, 'sysctl', ['-qw', 'net.ipv6.conf.default.accept_dad=0']);
    bed.veth(a, b, { nameA: 'eth1', nameB: 'eth1' });
    bed.veth(a, b, { nameA: 'eth2', nameB: 'eth2' });
    const linkLocal = (ns: string, dev: string) =>
      waitFor(`link-local on ${ns}/${dev}`, () => {
        const out = bed.execOk(ns, 'ip', ['-6', 'addr', 'show', 'dev', dev]);
        return /inet6 (fe80:[0-9a-f:]+)/.exec(out)?.[1];
      });
    const llA = await linkLocal(a, 'eth1');
    for (const [ns, dev] of [
      [a, 'eth2'],
      [b, 'eth1'],
      [b, 'eth2'],
    ] as const)
      await linkLocal(ns, dev);
    const run = (ns: string, args: string[]) => {
      const p = spawn('ip', [
        'netns',
        'exec',
        ns,
        process.execPath,
        '--import',
        'tsx',
        '--conditions=@bmx7/source',
        '--input-type=module',
        '-e',
        child,
        '--',
        ...args,
      ]);
      const lines: Record<string, unknown>[] = [];
      let buf = '';
      p.stdout.on('data', (d) => {
        buf += d;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          lines.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      });
      let stderr = '';
      p.stderr.on('data', (d) => {
        stderr += d;
      });
      const done = new Promise<void>((r) => p.once('exit', () => r()));
      return { lines, done, stderr: () => stderr };
    };
    const rx = run(b, ['eth1,eth2', '']);
    await waitFor(
      'receiver ready',
      () => {
        if (rx.stderr()) throw new Error(rx.stderr());
        return rx.lines.some((l) => l.ready);
      },
      { timeoutMs: 20_000 },
    );
    const tx = run(a, ['eth1,eth2', 'eth1']);
    await tx.done;
    await waitFor('five receptions', () => rx.lines.filter((l) => l.text).length === 5, { timeoutMs: 5_000 });
    const got = rx.lines.filter((l) => l.text);
    expect(got.map((l) => l.text)).toEqual(['bmx0', 'bmx1', 'bmx2', 'bmx3', 'bmx4']);
    for (const l of got) {
      expect(l.ifname).toBe('eth1'); // never on eth2, though both sockets listen on ff02::2:6270
      expect(l.src).toBe(llA);
    }
    expect(tx.lines.find((l) => l.stats)?.stats).toMatchObject({ sent: 5, sendErrors: 0 });
    await rx.done;
  });
});
