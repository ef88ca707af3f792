import { readFileSync } from 'node:fs';
import { fixture } from '@bmx7/testenv/env';
import { describe, expect, it } from 'vitest';
import { bytesEqual, concatBytes } from './bytes.js';
import { BMX7_PORT } from './constants.js';
import { LINKTYPE, readCapture, udp6Datagrams, udp6Packet, writePcap } from './pcap.js';

const cap = readCapture(new Uint8Array(readFileSync(fixture('line3.pcap'))));
if (!cap.ok) throw new Error(cap.reason);
const eth = cap.value.records;
const ref = udp6Datagrams(cap.value, BMX7_PORT);

function sameDatagrams(b: Uint8Array) {
  const c = readCapture(b);
  if (!c.ok) throw new Error(c.reason);
  const ds = udp6Datagrams(c.value, BMX7_PORT);
  expect(ds.length).toBe(ref.length);
  ds.forEach((d, i) => {
    expect(bytesEqual(d.payload, ref[i]!.payload)).toBe(true);
    expect(bytesEqual(d.src, ref[i]!.src)).toBe(true);
    expect(d.time).toBeCloseTo(ref[i]!.time, 5);
  });
}

const ip = (d: Uint8Array) => d.subarray(14);

describe('capture reading', () => {
  it('reads the Ethernet fixtures: IPv6 link-local to ff02::2, port 6270, hop limit 1', () => {
    expect(ref.length).toBe(73);
    for (const d of ref) {
      expect(d.srcPort).toBe(6270);
      expect(d.dstPort).toBe(6270);
      expect(d.hopLimit).toBe(1);
      expect(d.dst[0]).toBe(0xff);
    }
  });

  it('reads raw IP, Linux cooked SLL and SLL2 link types', () => {
    sameDatagrams(
      writePcap(
        LINKTYPE.RAW,
        eth.map((r) => ({ time: r.time, data: ip(r.data) })),
      ),
    );
    sameDatagrams(
      writePcap(
        LINKTYPE.IPV6,
        eth.map((r) => ({ time: r.time, data: ip(r.data) })),
      ),
    );
    const sll = (d: Uint8Array) =>
      concatBytes([Uint8Array.of(0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x86, 0xdd), ip(d)]);
    sameDatagrams(
      writePcap(
        LINKTYPE.LINUX_SLL,
        eth.map((r) => ({ time: r.time, data: sll(r.data) })),
      ),
    );
    const sll2 = (d: Uint8Array) =>
      concatBytes([Uint8Array.of(0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 2, 6, 1, 2, 3, 4, 5, 6, 0, 0), ip(d)]);
    sameDatagrams(
      writePcap(
        LINKTYPE.LINUX_SLL2,
        eth.map((r) => ({ time: r.time, data: sll2(r.data) })),
      ),
    );
    const vlan = (d: Uint8Array) =>
      concatBytes([d.subarray(0, 12), Uint8Array.of(0x81, 0, 0, 5), d.subarray(12)]);
    sameDatagrams(
      writePcap(
        LINKTYPE.ETHERNET,
        eth.map((r) => ({ time: r.time, data: vlan(r.data) })),
      ),
    );
  });

  it('reads pcapng and big-endian or nanosecond pcap', () => {
    const blocks: Uint8Array[] = [];
    const block = (type: number, body: Uint8Array) => {
      const len = 12 + Math.ceil(body.length / 4) * 4;
      const b = new Uint8Array(len);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, type, true);
      dv.setUint32(4, len, true);
      b.set(body, 8);
      dv.setUint32(len - 4, len, true);
      blocks.push(b);
    };
    block(
      0x0a0d0d0a,
      Uint8Array.of(0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    );
    block(1, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0));
    for (const r of eth) {
      const body = new Uint8Array(20 + r.data.length);
      const dv = new DataView(body.buffer);
      const us = Math.round(r.time * 1e6);
      dv.setUint32(4, Math.floor(us / 2 ** 32), true);
      dv.setUint32(8, us % 2 ** 32, true);
      dv.setUint32(12, r.data.length, true);
      dv.setUint32(16, r.data.length, true);
      body.set(r.data, 20);
      block(6, body);
    }
    sameDatagrams(concatBytes(blocks));
    // big-endian nanosecond pcap
    const le = writePcap(LINKTYPE.ETHERNET, eth);
    const be = le.slice();
    const swap = (o: number, n: number) => be.set(le.subarray(o, o + n).reverse(), o);
    new DataView(be.buffer).setUint32(0, 0xa1b23c4d);
    swap(4, 2);
    swap(6, 2);
    swap(16, 4);
    swap(20, 4);
    let pos = 24;
    const dv = new DataView(be.buffer);
    for (const r of eth) {
      const sec = Math.floor(r.time);
      dv.setUint32(pos, sec);
      dv.setUint32(pos + 4, Math.round((r.time - sec) * 1e6) * 1000);
      dv.setUint32(pos + 8, r.data.length);
      dv.setUint32(pos + 12, r.data.length);
      pos += 16 + r.data.length;
    }
    sameDatagrams(be);
  });

  it('fails cleanly on damaged captures and ignores non-UDP or non-IPv6 records', () => {
    const good = writePcap(LINKTYPE.ETHERNET, eth);
    expect(readCapture(new Uint8Array(3)).ok).toBe(false);
    expect(readCapture(new Uint8Array(24)).ok).toBe(false);
    // a capture cut short keeps the complete records and says so
    const cut = readCapture(good.subarray(0, good.length - 1));
    expect(cut.ok && cut.value.records.length).toBe(eth.length - 1);
    expect(cut.ok && cut.value.warning).toMatch(/ends inside record 73/);
    for (let n = 0; n < 400; n++) readCapture(good.subarray(0, n));
    // a snap length shorter than the datagram shows in udpLength
    const snapped = readCapture(
      writePcap(LINKTYPE.ETHERNET, [{ time: 1, data: eth[0]!.data.subarray(0, 100) }]),
    );
    const d = snapped.ok ? udp6Datagrams(snapped.value)[0] : undefined;
    expect(d && d.udpLength - 8 > d.payload.length).toBe(true);
    const junk = writePcap(LINKTYPE.RAW, [
      { time: 1, data: Uint8Array.of(0x45, 0, 0, 20) },
      { time: 2, data: new Uint8Array(0) },
    ]);
    const c = readCapture(junk);
    expect(c.ok && udp6Datagrams(c.value).length).toBe(0);
  });

  it('builds IPv6/UDP packets that read back, with a valid UDP checksum', () => {
    const d = ref[0]!;
    const pkt = udp6Packet(d.src, d.dst, 6270, 6270, d.payload);
    const c = readCapture(writePcap(LINKTYPE.RAW, [{ time: 1, data: pkt }]));
    if (!c.ok) throw new Error(c.reason);
    const back = udp6Datagrams(c.value)[0]!;
    expect(bytesEqual(back.payload, d.payload) && bytesEqual(back.src, d.src) && back.hopLimit === 1).toBe(
      true,
    );
    // one's complement sum over pseudo header and datagram is 0xffff
    let sum = 17 + pkt.length - 40;
    for (let i = 8; i < pkt.length; i += 2) sum += (pkt[i]! << 8) | (pkt[i + 1] ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
    expect(sum).toBe(0xffff);
  });
});
