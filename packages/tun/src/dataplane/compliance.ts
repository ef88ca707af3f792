/**
 * The compliance suite every TunnelBackend passes (the in-memory twin, the userspace twin in a
 * namespace, the kernel ip6tnl backend in the VM): create, update, remove, list and close, their
 * error codes, and the counters. With traffic hooks (the in-memory twin has them) it also checks
 * the encapsulation (docs/protocol.md §4.14) and what is counted and dropped.
 *
 * Test-only: it imports vitest, so it is left out of the build and of the package index.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decapsulate, formatIPv6, NEXT_HEADER_IPV4, NEXT_HEADER_IPV6, parseIPv6 } from './packet.js';
import type { Tunnel, TunnelBackend, TunnelErrorCode, TunnelSpec } from './types.js';
import { TunnelError } from './types.js';

export interface ComplianceTraffic {
  /** A packet routed into device `name` by the system; resolves with the encapsulated packets that left. */
  route(name: string, inner: Uint8Array): Promise<Uint8Array[]> | Uint8Array[];
  /** An encapsulated packet (outer IPv6) arriving; resolves with the device that took it, or null. */
  deliver(outer: Uint8Array): Promise<string | null> | string | null;
}

export interface ComplianceSetup {
  readonly backend: TunnelBackend;
  /** A device name unique to this run for `tag` (at most 15 bytes). */
  name(tag: string): string;
  /** Whether an interface of this name exists where the backend makes its devices. */
  exists(name: string): boolean | Promise<boolean>;
  /** Makes an interface the backend did not make, so that its name is taken. */
  occupy(name: string): void | Promise<void>;
  readonly traffic?: ComplianceTraffic;
  teardown?(): void | Promise<void>;
}

async function rejection(p: Promise<unknown>): Promise<TunnelError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TunnelError);
    return err as TunnelError;
  }
  throw new Error('expected a TunnelError, but the call succeeded');
}

async function expectCode(p: Promise<unknown>, code: TunnelErrorCode, device?: string): Promise<void> {
  const err = await rejection(p);
  expect(err.code).toBe(code);
  expect(err.name).toBe('TunnelError');
  if (device !== undefined) expect(err.device).toBe(device);
}

const A = 'fd99::1';
const B = 'fd99::2';
const C = 'fd99::3';

/** An IPv4 packet of `len` bytes (a UDP header's worth of zeros after the IP header). */
export function ipv4Packet(len = 28): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x45;
  new DataView(p.buffer).setUint16(2, len);
  p[8] = 64;
  p[9] = 17;
  p.set([10, 99, 0, 1, 10, 99, 0, 2], 12);
  return p;
}

/** An IPv6 packet of `len` bytes (no next header). */
export function ipv6Packet(len = 48): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x60;
  new DataView(p.buffer).setUint16(4, len - 40);
  p[6] = 59;
  p[7] = 64;
  p.set(parseIPv6('fd99:1::1') as Uint8Array, 8);
  p.set(parseIPv6('fd99:1::2') as Uint8Array, 24);
  return p;
}

function outer(src: string, dst: string, nh: number, inner: Uint8Array): Uint8Array {
  const p = new Uint8Array(40 + inner.length);
  p[0] = 0x60;
  new DataView(p.buffer).setUint16(4, inner.length);
  p[6] = nh;
  p[7] = 64;
  p.set(parseIPv6(src) as Uint8Array, 8);
  p.set(parseIPv6(dst) as Uint8Array, 24);
  p.set(inner, 40);
  return p;
}

export function describeTunnelBackendCompliance(
  name: string,
  make: () => ComplianceSetup | Promise<ComplianceSetup>,
): void {
  describe(`TunnelBackend compliance: ${name}`, () => {
    let s: ComplianceSetup;
    let backend: TunnelBackend;
    const spec = (tag: string, over: Partial<TunnelSpec> = {}): TunnelSpec => ({
      name: s.name(tag),
      local: A,
      remote: B,
      mtu: 1460,
      ...over,
    });

    beforeAll(async () => {
      s = await make();
      backend = s.backend;
    });
    afterAll(async () => {
      await backend?.close();
      await s?.teardown?.();
    });

    it('names its kind and starts with no devices', () => {
      expect(['kernel', 'userspace', 'memory']).toContain(backend.kind);
      expect(backend.list()).toEqual([]);
    });

    it('creates a device that is up, listed, with counters', async () => {
      const sp = spec('c', { hopLimit: 10 });
      const t = await backend.create(sp);
      expect(t.name).toBe(sp.name);
      expect(t.spec).toEqual(sp);
      expect(t.ifindex).toBeGreaterThan(0);
      // nothing arrived; the system itself may already send through a device that is up (IPv6
      // router solicitations, listener reports), and those go nowhere from these ends
      const cs = t.counters();
      expect(cs).toMatchObject({ rxPackets: 0, rxBytes: 0 });
      for (const v of Object.values(cs)) expect(Number.isInteger(v) && v >= 0).toBe(true);
      expect(Object.keys(cs).sort()).toEqual(['dropped', 'rxBytes', 'rxPackets', 'txBytes', 'txPackets']);
      expect(await s.exists(sp.name)).toBe(true);
      expect(backend.list().map((x) => x.name)).toEqual([sp.name]);
      await backend.remove(sp.name);
    });

    it('refuses a name it made already, or one taken by another interface (ERR_TUNNEL_EXISTS)', async () => {
      const sp = spec('e');
      await backend.create(sp);
      await expectCode(backend.create({ ...sp, remote: C }), 'ERR_TUNNEL_EXISTS', sp.name);
      const other = s.name('o');
      await s.occupy(other);
      await expectCode(backend.create(spec('o', { remote: C })), 'ERR_TUNNEL_EXISTS', other);
      expect(backend.list().map((x) => x.name)).toEqual([sp.name]);
      await backend.remove(sp.name);
    });

    it('refuses a second device with the same local and remote ends', async () => {
      const first = await backend.create(spec('p1'));
      // the kernel answers EEXIST; a backend may report it as either code
      const err = await rejection(backend.create(spec('p2')));
      expect(['ERR_TUNNEL_EXISTS', 'ERR_TUNNEL_CREATE']).toContain(err.code);
      expect(await s.exists(s.name('p2'))).toBe(false);
      // a gateway's device (any remote) beside it is fine
      const gw = await backend.create(spec('p3', { remote: '::' }));
      expect(
        backend
          .list()
          .map((x) => x.name)
          .sort(),
      ).toEqual([first.name, gw.name].sort());
      await backend.remove(first.name);
      await backend.remove(gw.name);
    });

    it('refuses invalid specs (ERR_TUNNEL_CREATE) and makes nothing', async () => {
      const bad: TunnelSpec[] = [
        { ...spec('v'), name: 'x'.repeat(16) },
        { ...spec('v'), name: '' },
        { ...spec('v'), name: 'a/b' },
        spec('v', { local: '10.0.0.1' }),
        spec('v', { remote: 'fd99::zz' }),
        spec('v', { mtu: 67 }),
        spec('v', { mtu: 65536 }),
        spec('v', { mtu: 1400.5 }),
        spec('v', { hopLimit: 0 }),
        spec('v', { hopLimit: 256 }),
      ];
      for (const b of bad) await expectCode(backend.create(b), 'ERR_TUNNEL_CREATE', b.name);
      expect(backend.list()).toEqual([]);
      expect(await s.exists(s.name('v'))).toBe(false);
    });

    it('updates ends, MTU and hop limit in place, keeping the ifindex', async () => {
      const t = await backend.create(spec('u'));
      const next = spec('u', { local: C, remote: '::', mtu: 1280, hopLimit: 3 });
      const u = await backend.update(next);
      expect(u.ifindex).toBe(t.ifindex);
      expect(u.spec).toEqual(next);
      expect(backend.list().map((x) => x.spec)).toEqual([next]);
      await expectCode(backend.update({ ...next, mtu: 10 }), 'ERR_TUNNEL_CREATE', next.name);
      expect(backend.list().map((x) => x.spec)).toEqual([next]);
      await backend.remove(next.name);
    });

    it('refuses to update a device it does not have (ERR_TUNNEL_MISSING)', async () => {
      await expectCode(backend.update(spec('m')), 'ERR_TUNNEL_MISSING', s.name('m'));
    });

    it('refuses an update onto the ends of another device', async () => {
      await backend.create(spec('x1'));
      const t2 = await backend.create(spec('x2', { remote: C }));
      const err = await rejection(backend.update({ ...t2.spec, remote: B }));
      expect(['ERR_TUNNEL_EXISTS', 'ERR_TUNNEL_CREATE']).toContain(err.code);
      expect(backend.list().find((x) => x.name === t2.name)?.spec.remote).toBe(C);
      await backend.remove(s.name('x1'));
      await backend.remove(t2.name);
    });

    it('removes a device, and removing one it does not have is a no-op', async () => {
      const t = await backend.create(spec('r'));
      await backend.remove(t.name);
      expect(backend.list()).toEqual([]);
      expect(await s.exists(t.name)).toBe(false);
      await backend.remove(t.name);
      await backend.remove(s.name('never'));
    });

    describe('traffic', () => {
      let t: Tunnel;
      let gw: Tunnel;
      beforeAll(async () => {
        if (!s.traffic) return;
        t = await backend.create(spec('t', { hopLimit: 7 }));
        gw = await backend.create(spec('g', { local: C, remote: '::' }));
      });
      afterAll(async () => {
        if (!s.traffic) return;
        await backend.remove(t.name);
        await backend.remove(gw.name);
      });

      it('encapsulates IPv4 and IPv6 in IPv6 (next header 4 and 41), from local to remote', async (ctx) => {
        if (!s.traffic) return ctx.skip();
        for (const [inner, nh] of [
          [ipv4Packet(), NEXT_HEADER_IPV4],
          [ipv6Packet(), NEXT_HEADER_IPV6],
        ] as const) {
          const out = await s.traffic.route(t.name, inner);
          expect(out).toHaveLength(1);
          const d = decapsulate(out[0] as Uint8Array);
          if (!d.ok) throw new Error(d.reason);
          expect(d.value.nextHeader).toBe(nh);
          expect(formatIPv6(d.value.source)).toBe(A);
          expect(formatIPv6(d.value.destination)).toBe(B);
          expect(d.value.hopLimit).toBe(7);
          expect(d.value.inner).toEqual(inner);
          // traffic class 0, no extension header
          expect((out[0] as Uint8Array)[0]).toBe(0x60);
          expect((out[0] as Uint8Array)[1]! >> 4).toBe(0);
        }
        expect(t.counters()).toMatchObject({ txPackets: 2, txBytes: 28 + 48, dropped: 0 });
      });

      it('drops and counts what is neither IPv4 nor IPv6, or bigger than the MTU', async (ctx) => {
        if (!s.traffic) return ctx.skip();
        const before = t.counters();
        const junk = new Uint8Array(40);
        junk[0] = 0x50;
        expect(await s.traffic.route(t.name, junk)).toEqual([]);
        expect(await s.traffic.route(t.name, ipv6Packet(1461))).toEqual([]);
        expect(t.counters()).toMatchObject({ txPackets: before.txPackets, dropped: before.dropped + 2 });
      });

      it('takes packets from its remote to its local, and a gateway device from any remote', async (ctx) => {
        if (!s.traffic) return ctx.skip();
        expect(await s.traffic.deliver(outer(B, A, 4, ipv4Packet()))).toBe(t.name);
        expect(await s.traffic.deliver(outer(B, A, 41, ipv6Packet()))).toBe(t.name);
        expect(t.counters()).toMatchObject({ rxPackets: 2, rxBytes: 28 + 48 });
        expect(await s.traffic.deliver(outer('fd99::7', C, 41, ipv6Packet()))).toBe(gw.name);
        expect(await s.traffic.deliver(outer('fd99::8', C, 4, ipv4Packet()))).toBe(gw.name);
        expect(gw.counters()).toMatchObject({ rxPackets: 2 });
        // a stranger to a non-gateway device is no one's
        expect(await s.traffic.deliver(outer('fd99::7', A, 41, ipv6Packet()))).toBeNull();
      });

      it('drops and counts an inner packet that does not match the next header', async (ctx) => {
        if (!s.traffic) return ctx.skip();
        const before = t.counters();
        await s.traffic.deliver(outer(B, A, 4, ipv6Packet()));
        expect(t.counters()).toMatchObject({ rxPackets: before.rxPackets, dropped: before.dropped + 1 });
      });

      it('sends nothing through a device with any remote (it only receives)', async (ctx) => {
        if (!s.traffic) return ctx.skip();
        expect(await s.traffic.route(gw.name, ipv6Packet())).toEqual([]);
        expect(gw.counters().dropped).toBe(1);
      });

      it('keeps the counters across an update', async (ctx) => {
        if (!s.traffic) return ctx.skip();
        const before = t.counters();
        const u = await backend.update({ ...t.spec, mtu: 1400 });
        expect(u.counters()).toEqual(before);
      });
    });

    it('close() removes every device and refuses new ones (ERR_TUNNEL_BACKEND)', async () => {
      const names = [s.name('z1'), s.name('z2')];
      await backend.create(spec('z1'));
      await backend.create(spec('z2', { remote: C }));
      await backend.close();
      expect(backend.list()).toEqual([]);
      for (const n of names) expect(await s.exists(n)).toBe(false);
      await expectCode(backend.create(spec('z3')), 'ERR_TUNNEL_BACKEND');
      await backend.remove(names[0] as string);
      await backend.close();
    });
  });
}
