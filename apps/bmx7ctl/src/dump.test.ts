import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concatBytes, LINKTYPE, readCapture, udp6FromRecord, udp6Packet, writePcap } from '@bmx7/codec';
import { fixture, repoRoot } from '@bmx7/testenv/env';
import { describe, expect, it } from 'vitest';
import { type CliIo, EXIT, runCli } from './cli.js';
import { COMMANDS } from './commands.js';
import { type PacketCheck, runDump } from './dump.js';

const CAPTURES = ['startup.pcap', 'line3.pcap', 'tun.pcap', 'rsalink.pcap'];

function memIo(files: Record<string, Uint8Array> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    readFile: async (p) => {
      const f = files[p];
      if (f) return f;
      return new Uint8Array(readFileSync(p));
    },
  };
  return { io, out, err };
}

describe.each(CAPTURES)('bmx7ctl dump %s', (name) => {
  const file = fixture(name);
  const cap = readCapture(new Uint8Array(readFileSync(file)));
  if (!cap.ok) throw new Error(cap.reason);
  const n = cap.value.records.filter((r) => udp6FromRecord(r)?.dstPort === 6270).length;

  it('prints a readable dissection and exits 0', async () => {
    const { io, out, err } = memIo();
    expect(await runDump([file], io)).toBe(EXIT.OK);
    expect(err).toEqual([]);
    const heads = out.filter((l) => l.startsWith('#'));
    expect(heads.length).toBe(n);
    expect(heads.every((l) => / > ff02::2 len=\d+ cv=21 node=[0-9A-F]{8}/.test(l))).toBe(true);
    expect(out.some((l) => l.startsWith('  SIGNATURE_ADV descSqn='))).toBe(true);
    expect(out.some((l) => l.startsWith('  HELLO_ADV helloSqn='))).toBe(true);
  });

  it('--json prints one JSON object per packet with decoded frames', async () => {
    const { io, out } = memIo();
    expect(await runDump([file, '--json'], io)).toBe(EXIT.OK);
    expect(out.length).toBe(n);
    const objs = out.map((l) => JSON.parse(l));
    for (const o of objs) {
      expect(o.ok).toBe(true);
      expect(typeof o.time).toBe('number');
      expect(o.src).toMatch(/^fe80:/);
      expect(o.header.version).toBe(21);
      expect(o.frames.length).toBeGreaterThan(0);
      expect(typeof o.frames[0].name).toBe('string');
    }
    const hello = objs.flatMap((o) => o.frames).find((f: { name: string }) => f.name === 'HELLO_ADV');
    expect(hello.helloSqn).toBeTypeOf('number');
  });

  it('--roundtrip re-encodes every packet identically', async () => {
    const { io, out } = memIo();
    expect(await runDump([file, '--roundtrip'], io)).toBe(EXIT.OK);
    expect(out.filter((l) => l === '  roundtrip: identical').length).toBe(n);
  });
});

describe('bmx7ctl dump follows content references', () => {
  it('shows referenced TLVs once their contents were seen (tun.pcap: the gateway announcement)', async () => {
    const { io, out } = memIo();
    expect(await runDump([fixture('tun.pcap')], io)).toBe(EXIT.OK);
    const line = out.find((l) => l.startsWith('  resolved TUN6IN6_NET of 6484B2ED/'));
    expect(line).toMatch(/bandwidth=92274K networkLen=16 network=fdbb::/);
    expect(out.some((l) => /resolved INFO of 0C476241\/\d+: .*name=ref-n1/.test(l))).toBe(true);
    const j = memIo();
    await runDump([fixture('tun.pcap'), '--json'], j.io);
    const resolved = j.out.flatMap((l) => JSON.parse(l).resolved ?? []);
    const net = resolved.find((r: { tlv: { name: string } }) => r.tlv.name === 'TUN6IN6_NET');
    expect(net.node).toMatch(/^6484b2ed/);
    expect(net.tlv.entries.map((e: { network: string }) => e.network).sort()).toEqual(['fdaa:3::', 'fdbb::']);
  });
});

describe('bmx7ctl dump failures', () => {
  const src = Uint8Array.of(0xfe, 0x80, ...new Array(13).fill(0), 1);
  const dst = Uint8Array.of(0xff, 0x02, ...new Array(13).fill(0), 2);
  const good = readCapture(new Uint8Array(readFileSync(fixture('line3.pcap'))));
  if (!good.ok) throw new Error(good.reason);
  const payload = udp6FromRecord(good.value.records[0]!)!.payload;

  it('exits 1 naming the first packet that does not decode', async () => {
    const broken = concatBytes([payload, Uint8Array.of(0x60)]);
    const pcap = writePcap(LINKTYPE.RAW, [
      { time: 1, data: udp6Packet(src, dst, 6270, 6270, payload) },
      { time: 2, data: udp6Packet(src, dst, 6270, 6270, broken) },
      { time: 3, data: udp6Packet(src, dst, 6270, 6270, broken) },
    ]);
    const { io, err, out } = memIo({ 'x.pcap': pcap });
    expect(await runDump(['x.pcap'], io)).toBe(EXIT.FAILURE);
    expect(err.join('\n')).toMatch(/2 of 3 BMX7 packets failed; first: packet #2 from fe80::1: ERR_TRAILING/);
    expect(out.filter((l) => l.includes('DECODE ERROR')).length).toBe(2);
    const j = memIo({ 'x.pcap': pcap });
    expect(await runDump(['x.pcap', '--json'], j.io)).toBe(EXIT.FAILURE);
    expect(JSON.parse(j.out[1]!)).toMatchObject({ number: 2, ok: false });
  });

  it('--port selects another UDP port; stdin is read with -', async () => {
    const pcap = writePcap(LINKTYPE.RAW, [{ time: 1, data: udp6Packet(src, dst, 7000, 7000, payload) }]);
    const m = memIo({ 'x.pcap': pcap, '/dev/stdin': pcap });
    expect(await runDump(['x.pcap'], m.io)).toBe(EXIT.OK);
    expect(m.err.join()).toMatch(/no BMX7 packets/);
    const p = memIo({ '/dev/stdin': pcap });
    expect(await runDump(['-', '--port=7000', '--roundtrip'], p.io)).toBe(EXIT.OK);
    expect(p.out).toContain('  roundtrip: identical');
  });

  it('counts failed checks (the --verify extension point) like decode failures', async () => {
    const pcap = writePcap(LINKTYPE.RAW, [{ time: 1, data: udp6Packet(src, dst, 6270, 6270, payload) }]);
    const check: PacketCheck = {
      name: 'verify',
      check: (p) => (p.decoded.ok ? { ok: false, reason: 'bad signature' } : undefined),
    };
    const { io, err } = memIo({ 'x.pcap': pcap });
    expect(await runDump(['x.pcap'], io, [check])).toBe(EXIT.FAILURE);
    expect(err.join('\n')).toMatch(/packet #1 from fe80::1: verify: bad signature/);
  });

  it('exits 1 for unreadable captures and 2 for usage errors', async () => {
    const m = memIo({ 'bad.pcap': new Uint8Array(40) });
    expect(await runCli(['dump', 'bad.pcap'], m.io, COMMANDS)).toBe(EXIT.FAILURE);
    expect(m.err.join()).toMatch(/not a pcap/);
    expect(await runCli(['dump'], memIo().io, COMMANDS)).toBe(EXIT.USAGE);
    expect(await runCli(['dump', 'a', 'b'], memIo().io, COMMANDS)).toBe(EXIT.USAGE);
    expect(await runCli(['dump', '--bogus', 'a'], memIo().io, COMMANDS)).toBe(EXIT.USAGE);
    expect(await runCli(['dump', '--port=0', 'a'], memIo().io, COMMANDS)).toBe(EXIT.USAGE);
    expect(await runCli(['frobnicate'], memIo().io, COMMANDS)).toBe(EXIT.USAGE);
    expect(await runCli([], memIo().io, COMMANDS)).toBe(EXIT.USAGE);
    const h = memIo();
    expect(await runCli(['help', 'dump'], h.io, COMMANDS)).toBe(EXIT.OK);
    expect(h.out.join()).toMatch(/usage: bmx7ctl dump FILE/);
  });
});

describe('bmx7ctl process', () => {
  it('runs dump as a process and exits with its code', () => {
    const main = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@bmx7/source', main, ...args], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 60_000,
      });
    const ok = run('dump', fixture('tun.pcap'), '--roundtrip');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/TUN6IN6_NET ref/);
    expect(run('dump').status).toBe(2);
    expect(run('dump', join(repoRoot, 'package.json')).status).toBe(1);
  }, 120_000);
});
