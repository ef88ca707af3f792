/**
 * Kernel ip6tnl in `mode any` between two namespaces: one tunnel carries both IPv4-in-IPv6 and
 * IPv6-in-IPv6. Built with iproute2 only (the project's ip6tnl backend will replace the `ip` calls).
 *
 *   ns a                                       ns b
 *   tnl  10.96.0.1/30  fd96:1::1/64            tnl  10.96.0.2/30  fd96:1::2/64
 *    └─ ip6tnl mode any, fd96::1 → fd96::2      └─ ip6tnl mode any, fd96::2 → fd96::1
 *   veth fd96::1/64  ─────────────────────────  veth fd96::2/64
 *
 * Runs in the VM (pnpm test:vm); elsewhere it is skipped with the reason.
 */
import { describeKernel } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';

interface LinkStats {
  rx: number;
  tx: number;
}

/** Packet counters of a link, from `ip -s -j link show`. */
function stats(bed: NetnsBed, ns: string, dev: string): LinkStats {
  const [link] = JSON.parse(bed.execOk(ns, 'ip', ['-s', '-j', 'link', 'show', 'dev', dev])) as {
    stats64: { rx: { packets: number }; tx: { packets: number } };
  }[];
  if (!link) throw new Error(`no link ${dev} in ${ns}`);
  return { rx: link.stats64.rx.packets, tx: link.stats64.tx.packets };
}

describeKernel('ip6tnl mode any between two namespaces', ['ip6tnl'], () => {
  let bed: NetnsBed;
  let a: string;
  let b: string;
  let tnlA: string;
  let tnlB: string;

  beforeAll(() => {
    bed = createNetnsBed('i6');
    a = bed.ns('a');
    b = bed.ns('b');
    const [va, vb] = bed.veth(a, b);
    // nodad: the underlay addresses are usable at once instead of after duplicate detection.
    bed.execOk(a, 'ip', ['-6', 'addr', 'add', 'fd96::1/64', 'dev', va, 'nodad']);
    bed.execOk(b, 'ip', ['-6', 'addr', 'add', 'fd96::2/64', 'dev', vb, 'nodad']);
    tnlA = bed.name('ta');
    tnlB = bed.name('tb');
    const ends: [string, string, string, string][] = [
      [a, tnlA, 'fd96::1', 'fd96::2'],
      [b, tnlB, 'fd96::2', 'fd96::1'],
    ];
    for (const [ns, dev, local, remote] of ends) {
      bed.execOk(ns, 'ip', [
        'link',
        'add',
        dev,
        'type',
        'ip6tnl',
        'mode',
        'any',
        'local',
        local,
        'remote',
        remote,
      ]);
      bed.execOk(ns, 'ip', ['link', 'set', dev, 'up']);
    }
    bed.execOk(a, 'ip', ['addr', 'add', '10.96.0.1/30', 'dev', tnlA]);
    bed.execOk(b, 'ip', ['addr', 'add', '10.96.0.2/30', 'dev', tnlB]);
    bed.execOk(a, 'ip', ['-6', 'addr', 'add', 'fd96:1::1/64', 'dev', tnlA, 'nodad']);
    bed.execOk(b, 'ip', ['-6', 'addr', 'add', 'fd96:1::2/64', 'dev', tnlB, 'nodad']);
  });

  afterAll(() => bed?.cleanup());

  it('is an ip6tnl link in mode any with the configured endpoints', () => {
    const [link] = JSON.parse(bed.execOk(a, 'ip', ['-d', '-j', 'link', 'show', 'dev', tnlA])) as {
      linkinfo: { info_kind: string; info_data: { proto: string; local: string; remote: string } };
    }[];
    expect(link?.linkinfo.info_kind).toBe('ip6tnl');
    expect(link?.linkinfo.info_data).toMatchObject({ proto: 'any', local: 'fd96::1', remote: 'fd96::2' });
  });

  it('routes the inner prefixes through the tunnel', () => {
    expect(bed.execOk(a, 'ip', ['route', 'get', '10.96.0.2'])).toContain(`dev ${tnlA}`);
    expect(bed.execOk(a, 'ip', ['-6', 'route', 'get', 'fd96:1::2'])).toContain(`dev ${tnlA}`);
  });

  for (const [family, target] of [
    ['IPv4-in-IPv6', '10.96.0.2'],
    ['IPv6-in-IPv6', 'fd96:1::2'],
  ] as const) {
    it(`carries ${family} pings in both directions`, async () => {
      const beforeA = stats(bed, a, tnlA);
      const beforeB = stats(bed, b, tnlB);
      await waitFor(`ping ${target} through the tunnel`, () => {
        return bed.exec(a, 'ping', ['-c', '1', '-W', '2', target]).status === 0;
      });
      const out = bed.execOk(a, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', target]);
      expect(out).toMatch(/3 packets transmitted, 3 received/);
      const afterA = stats(bed, a, tnlA);
      const afterB = stats(bed, b, tnlB);
      // Requests left through a's tunnel and arrived on b's; replies came back the same way.
      expect(afterA.tx - beforeA.tx).toBeGreaterThanOrEqual(4);
      expect(afterB.rx - beforeB.rx).toBeGreaterThanOrEqual(4);
      expect(afterB.tx - beforeB.tx).toBeGreaterThanOrEqual(4);
      expect(afterA.rx - beforeA.rx).toBeGreaterThanOrEqual(4);
    });
  }
});
