/**
 * The userspace ip6tnl twin of @bmx7/plugin-tun against the kernel's ip6tnl (docs/protocol.md
 * §4.14): the twin at one end (its command-line entry, inside the namespace as the daemon runs
 * it), a kernel ip6tnl in `mode any` without the encapsulation limit option at the other, as the
 * reference makes it. Pings cross both ways over IPv4-in-IPv6 and IPv6-in-IPv6.
 *
 *   ns u (userspace twin)                      ns k (kernel)
 *   tu  10.95.0.1/30  fd95:1::1/64             tk  10.95.0.2/30  fd95:1::2/64
 *    └─ TUN + raw sockets, fd95::1 → fd95::2    └─ ip6tnl mode any, fd95::2 → fd95::1
 *   veth fd95::1/64  ─────────────────────────  veth fd95::2/64
 *
 * Runs in the VM (pnpm test:vm); elsewhere it is skipped with the reason.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { describeKernel, repoRoot } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';

const CLI = join(repoRoot, 'packages', 'tun', 'src', 'dataplane', 'cli.ts');

interface Counters {
  rxPackets: number;
  txPackets: number;
  dropped: number;
}

describeKernel('userspace ip6tnl twin against kernel ip6tnl', ['ip6tnl'], () => {
  let bed: NetnsBed;
  let u: string;
  let k: string;
  let tu: string;
  let tk: string;
  let twin: ChildProcess;
  let out = '';

  /** The twin's counters, asked for on its stdin. */
  async function twinCounters(): Promise<Counters> {
    const mark = out.length;
    twin.stdin?.write('counters\n');
    const line = await waitFor('the twin to print its counters', () =>
      out
        .slice(mark)
        .split('\n')
        .find((l) => l.startsWith('{"counters"')),
    );
    return (JSON.parse(line) as { counters: Record<string, Counters> }).counters[tu] as Counters;
  }

  beforeAll(async () => {
    bed = createNetnsBed('vu');
    u = bed.ns('u');
    k = bed.ns('k');
    const [vu, vk] = bed.veth(u, k);
    bed.execOk(u, 'ip', ['-6', 'addr', 'add', 'fd95::1/64', 'dev', vu, 'nodad']);
    bed.execOk(k, 'ip', ['-6', 'addr', 'add', 'fd95::2/64', 'dev', vk, 'nodad']);
    // This VM's kernel has ip6_tunnel loaded in every namespace, the twin's too, where it finds no
    // tunnel for the packets the twin takes and answers each with an ICMPv6 error; the kernel end
    // then reports "host unreachable" to its senders. The twin is meant for kernels without the
    // module, where nothing answers (raw delivery alone stops the "unknown next header" error):
    // silence ICMPv6 errors in the twin's namespace to stand for that.
    bed.execOk(u, 'sh', ['-c', 'echo 100000000 > /proc/sys/net/ipv6/icmp/ratelimit']);
    tu = bed.name('tu');
    tk = bed.name('tk');
    // the reference's ip6tnl: proto any, no encapsulation limit option, hop limit 64
    bed.execOk(k, 'ip', [
      'link',
      'add',
      tk,
      'type',
      'ip6tnl',
      'mode',
      'any',
      'local',
      'fd95::2',
      'remote',
      'fd95::1',
      'encaplimit',
      'none',
      'hoplimit',
      '64',
    ]);
    bed.execOk(k, 'ip', ['link', 'set', tk, 'mtu', '1440', 'up']);
    twin = bed.spawn(
      u,
      process.execPath,
      ['--import', 'tsx', '--conditions=@bmx7/source', CLI, 'up', tu, 'fd95::1', 'fd95::2', '1440'],
      { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    twin.stdout?.on('data', (d) => {
      out += String(d);
    });
    await waitFor('the userspace twin to be up', () => out.includes(`"up":"${tu}"`), { timeoutMs: 60_000 });
    bed.execOk(u, 'ip', ['addr', 'add', '10.95.0.1/30', 'dev', tu]);
    bed.execOk(k, 'ip', ['addr', 'add', '10.95.0.2/30', 'dev', tk]);
    bed.execOk(u, 'ip', ['-6', 'addr', 'add', 'fd95:1::1/64', 'dev', tu, 'nodad']);
    bed.execOk(k, 'ip', ['-6', 'addr', 'add', 'fd95:1::2/64', 'dev', tk, 'nodad']);
  });

  afterAll(() => bed?.cleanup());

  for (const [family, fromTwin, fromKernel] of [
    ['IPv4-in-IPv6', '10.95.0.2', '10.95.0.1'],
    ['IPv6-in-IPv6', 'fd95:1::2', 'fd95:1::1'],
  ] as const) {
    it(`carries ${family} pings from the twin to the kernel's end and back`, async () => {
      const before = await twinCounters();
      await waitFor(
        `ping ${fromTwin}`,
        () => bed.exec(u, 'ping', ['-c', '1', '-W', '2', fromTwin]).status === 0,
      );
      expect(bed.execOk(u, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', fromTwin])).toMatch(
        /3 packets transmitted, 3 received/,
      );
      const after = await twinCounters();
      expect(after.txPackets - before.txPackets).toBeGreaterThanOrEqual(4);
      expect(after.rxPackets - before.rxPackets).toBeGreaterThanOrEqual(4);
    });

    it(`carries ${family} pings from the kernel's end to the twin and back`, () => {
      expect(bed.execOk(k, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', fromKernel])).toMatch(
        /3 packets transmitted, 3 received/,
      );
    });
  }

  it('the twin dropped nothing', async () => {
    expect((await twinCounters()).dropped).toBe(0);
  });
});
