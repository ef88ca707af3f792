/**
 * @bmx7/plugin-tun data plane: TCP throughput (iperf3, client to uplink) and ping latency through
 * the userspace ip6tnl twin, through plain routing on the same veth, and through a hand-made
 * wireguard-go pair, all in one run over the same two namespaces. Prints one JSON object per
 * result (medians), then the ratios against plain routing and wireguard-go.
 *
 *   ns client                                             ns uplink
 *   tw  10.96.1.1 fd96:1::1  (userspace twin, CLI child)   tw  10.96.1.2 fd96:1::2
 *   wg  10.96.2.1            (wireguard-go, port 51820)    wg  10.96.2.2
 *   veth 10.96.0.1 fd96:b::1 ──────────────────────────── veth 10.96.0.2 fd96:b::2
 *
 * Both tunnels ride the IPv6 underlay. Everything (both tunnel ends, iperf3 both ends, the kernel)
 * shares the machine's cores, which other work may be loading too: read the ratios.
 *
 *   pnpm bench tun [--seconds=10] [--reps=3] [--pings=50]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { repoRoot, wireguardGoPath } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';

const num = (name: string, dflt: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};
const SECONDS = num('seconds', 10);
const REPS = num('reps', 3);
const PINGS = num('pings', 50);
const CLI = fileURLToPath(new URL('../../packages/tun/src/dataplane/cli.ts', import.meta.url));
const TUNNEL_MTU = 1440;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const emit = (o: object) => process.stdout.write(`${JSON.stringify({ bench: 'tun', ...o })}\n`);

/** CPU seconds a process has used so far (user + system). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

function iperf(bed: NetnsBed, client: string, target: string): { gbps: number; retransmits: number } {
  const out = bed.execOk(client, 'iperf3', ['-c', target, '-t', String(SECONDS), '-J'], {
    timeoutMs: (SECONDS + 20) * 1000,
  });
  const j = JSON.parse(out) as {
    end: { sum_received: { bits_per_second: number }; sum_sent: { retransmits?: number } };
  };
  return { gbps: j.end.sum_received.bits_per_second / 1e9, retransmits: j.end.sum_sent.retransmits ?? 0 };
}

function pingMs(bed: NetnsBed, client: string, target: string): number[] {
  const out = bed.execOk(client, 'ping', ['-c', String(PINGS), '-i', '0.02', '-W', '1', target], {
    timeoutMs: 60_000,
  });
  return [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

async function main(): Promise<void> {
  const wgGo = wireguardGoPath();
  const bed = createNetnsBed('bt');
  const load = { start: loadavg().map((x) => round(x, 2)), cores: cpus().length };
  try {
    const client = bed.ns('cl');
    const uplink = bed.ns('up');
    const [vc, vu] = bed.veth(client, uplink);
    bed.execOk(client, 'ip', ['addr', 'add', '10.96.0.1/24', 'dev', vc]);
    bed.execOk(uplink, 'ip', ['addr', 'add', '10.96.0.2/24', 'dev', vu]);
    bed.execOk(client, 'ip', ['-6', 'addr', 'add', 'fd96:b::1/64', 'dev', vc, 'nodad']);
    bed.execOk(uplink, 'ip', ['-6', 'addr', 'add', 'fd96:b::2/64', 'dev', vu, 'nodad']);

    // the userspace twin, one CLI process per end, as the daemon would run it inside its namespace
    const tw = bed.name('tw');
    const ends: { pid: number; ns: string }[] = [];
    for (const [ns, local, remote, v4, v6] of [
      [client, 'fd96:b::1', 'fd96:b::2', '10.96.1.1/24', 'fd96:1::1/64'],
      [uplink, 'fd96:b::2', 'fd96:b::1', '10.96.1.2/24', 'fd96:1::2/64'],
    ] as const) {
      const child = bed.spawn(
        ns,
        process.execPath,
        ['--import', 'tsx', '--conditions=@bmx7/source', CLI, 'up', tw, local, remote, String(TUNNEL_MTU)],
        { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout?.on('data', (d) => {
        out += String(d);
      });
      await waitFor(`the userspace twin in ${ns}`, () => out.includes('"up"'));
      ends.push({ pid: child.pid as number, ns });
      bed.execOk(ns, 'ip', ['addr', 'add', v4, 'dev', tw]);
      bed.execOk(ns, 'ip', ['-6', 'addr', 'add', v6, 'dev', tw, 'nodad']);
    }

    // a wireguard-go pair over the same underlay
    let wgOk = false;
    // UAPI sockets are machine-wide: each end needs its own device name
    const wgName = (ns: string) => bed.name(ns === client ? 'wgc' : 'wgu');
    if (wgGo) {
      const keys = [0, 1].map(() => {
        const priv = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
        const pub = execFileSync('wg', ['pubkey'], { input: priv, encoding: 'utf8' }).trim();
        return { priv, pub };
      });
      const sides = [
        { ns: client, addr: '10.96.2.1/24', peerEp: '[fd96:b::2]:51820', key: keys[0], peer: keys[1] },
        { ns: uplink, addr: '10.96.2.2/24', peerEp: '[fd96:b::1]:51820', key: keys[1], peer: keys[0] },
      ];
      for (const s of sides) {
        const wg = wgName(s.ns);
        // in the foreground, so that the bed's cleanup ends it
        bed.spawn(s.ns, wgGo, ['-f', wg], { stdio: 'ignore' });
        await waitFor('the wireguard-go socket', () => existsSync(`/var/run/wireguard/${wg}.sock`));
        const keyFile = `/dev/shm/${bed.name('k')}${s.ns === client ? 'c' : 'u'}`;
        execFileSync('sh', ['-c', `umask 077; cat > ${keyFile}`], { input: s.key?.priv });
        bed.execOk(s.ns, 'wg', [
          'set',
          wg,
          'listen-port',
          '51820',
          'private-key',
          keyFile,
          'peer',
          s.peer?.pub as string,
          'endpoint',
          s.peerEp,
          'allowed-ips',
          '10.96.2.0/24',
        ]);
        execFileSync('rm', ['-f', keyFile]);
        bed.execOk(s.ns, 'ip', ['link', 'set', wg, 'mtu', '1420', 'up']);
        bed.execOk(s.ns, 'ip', ['addr', 'add', s.addr, 'dev', wg]);
      }
      await waitFor(
        'the wireguard-go handshake',
        () => bed.exec(client, 'ping', ['-c', '1', '-W', '1', '10.96.2.2']).status === 0,
      );
      wgOk = true;
    }

    await waitFor(
      'the userspace twin to carry pings',
      () => bed.exec(client, 'ping', ['-c', '1', '-W', '1', '10.96.1.2']).status === 0,
    );
    const server = bed.spawn(uplink, 'iperf3', ['-s']);
    await waitFor('iperf3 server', () => bed.exec(uplink, 'ss', ['-ltn']).stdout.includes(':5201'));

    const paths: { path: string; target: string; cpu?: boolean }[] = [
      { path: 'plain', target: '10.96.0.2' },
      { path: 'userspace-ipv4', target: '10.96.1.2', cpu: true },
      { path: 'userspace-ipv6', target: 'fd96:1::2', cpu: true },
      ...(wgOk ? [{ path: 'wireguard-go', target: '10.96.2.2' }] : []),
    ];
    const tput = new Map<string, number>();
    // interleaved repetitions, so that a burst of outside load hits every path alike
    const runs = new Map<string, { gbps: number; retransmits: number; cores?: number }[]>();
    for (let rep = 0; rep < REPS; rep++) {
      for (const p of paths) {
        const cpu0 = p.cpu ? ends.map((e) => cpuSeconds(e.pid)) : [];
        const t0 = process.hrtime.bigint();
        const r = iperf(bed, client, p.target);
        const wall = Number(process.hrtime.bigint() - t0) / 1e9;
        const cores = p.cpu
          ? ends.reduce((s, e, i) => s + cpuSeconds(e.pid) - (cpu0[i] as number), 0) / wall
          : undefined;
        runs.set(p.path, [...(runs.get(p.path) ?? []), { ...r, ...(cores === undefined ? {} : { cores }) }]);
      }
    }
    for (const p of paths) {
      const rs = runs.get(p.path) ?? [];
      const m = median(rs.map((r) => r.gbps));
      tput.set(p.path, m);
      const cores = rs.flatMap((r) => (r.cores === undefined ? [] : [r.cores]));
      emit({
        metric: 'tcp_throughput',
        path: p.path,
        medianGbps: round(m),
        runsGbps: rs.map((r) => round(r.gbps)),
        medianRetransmits: median(rs.map((r) => r.retransmits)),
        seconds: SECONDS,
        ...(cores.length ? { twinCoresBothEnds: round(median(cores), 2) } : {}),
      });
    }
    server.kill('SIGKILL');

    const lat = new Map<string, number>();
    for (const p of paths) {
      const rtts = pingMs(bed, client, p.target);
      lat.set(p.path, median(rtts));
      emit({ metric: 'ping_rtt', path: p.path, medianMs: round(median(rtts)), pings: rtts.length });
    }

    const plainT = tput.get('plain') as number;
    const plainL = lat.get('plain') as number;
    for (const p of paths) {
      if (p.path === 'plain') continue;
      emit({
        metric: 'ratio',
        path: p.path,
        throughputVsPlain: round((tput.get(p.path) as number) / plainT),
        ...(wgOk
          ? {
              throughputVsWireguardGo: round(
                (tput.get(p.path) as number) / (tput.get('wireguard-go') as number),
              ),
            }
          : {}),
        addedRttMs: round((lat.get(p.path) as number) - plainL),
      });
    }
    const twin = tput.get('userspace-ipv4') as number;
    emit({
      metric: 'target',
      path: 'userspace-ipv4',
      targetGbps: 0.7,
      medianGbps: round(twin),
      met: twin >= 0.7,
      load: { ...load, end: loadavg().map((x) => round(x, 2)) },
      note: 'tunnel ends, iperf3 and the kernel share these cores with any other work on the machine',
    });
  } finally {
    bed.cleanup();
    for (const t of ['wgc', 'wgu']) spawnSync('rm', ['-f', `/var/run/wireguard/${bed.name(t)}.sock`]);
  }
}

await main();
