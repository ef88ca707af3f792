/**
 * Helpers for the crypt-tun tests (encrypted gateway tunnels between real daemons): the client's and
 * the gateway's arguments, the names of their WireGuard devices, a capture of the relay links and the
 * uplink while the client sends marked datagrams, the wireguard-go processes serving a device, and
 * the teardown of a test's wireguard-go and sockets.
 *
 * wireguard-go's sockets share one directory on the machine: each test gives its nodes tunDevNames of
 * its own, and its device names start with them.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Mesh } from '@bmx7/testbed';
import { type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { expect } from 'vitest';
import { type Ctl, showRows, UPLINK } from './helpers.js';

/** wireguard-go's socket directory (one per machine). */
export const UAPI_DIR = '/var/run/wireguard';

/**
 * A client's arguments: its tunDevName, a tunnel device (fdaa:1::1/64, 10.1.0.1/24), searches up6
 * and up4 for the uplink networks (2001:db8:1::/64, 192.0.2.0/24), all of them encrypted (cryptTun=2).
 */
function clientArgs(tunDevName: string): string[] {
  return [
    `tunDevName=${tunDevName}`,
    'tunDev=dflt /tun6Address=fdaa:1::1/64 /tun4Address=10.1.0.1/24',
    'tunOut=up6 /network=2001:db8:1::/64',
    'tunOut=up4 /network=192.0.2.0/24',
    'cryptTun=2',
  ];
}

/**
 * The arguments of gateway node `k` (n<k>): its tunDevName, a tunnel device (fdaa:<k>::1/64,
 * 10.<k>.0.1/24), the uplink networks offered, routes back to the clients' networks (fdaa::/16,
 * 10.0.0.0/8), and encrypted tunnels offered (cryptTun=1).
 */
function gatewayArgs(tunDevName: string, k: number): string[] {
  return [
    `tunDevName=${tunDevName}`,
    `tunDev=dflt /tun6Address=fdaa:${k}::1/64 /tun4Address=10.${k}.0.1/24`,
    'tunIn=up6 /network=2001:db8:1::/64 /bandwidth=100M',
    'tunIn=up4 /network=192.0.2.0/24 /bandwidth=100M',
    'tunOut=back6 /network=fdaa::/16 /minPrefixLen=0 /maxPrefixLen=128',
    'tunOut=back4 /network=10.0.0.0/8 /minPrefixLen=0 /maxPrefixLen=32',
    'cryptTun=1',
  ];
}

/**
 * The arguments of the nodes of a line n1 … n<k> of tunDevNames `<prefix>1` … `<prefix><k>`: the
 * client n1 (clientArgs), the relays between (their tunDevName only) and the gateway n<k>
 * (gatewayArgs).
 */
export function lineArgs(prefix: string, k: number): Record<string, string[]> {
  const args: Record<string, string[]> = { n1: clientArgs(`${prefix}1`) };
  for (let i = 2; i < k; i++) args[`n${i}`] = [`tunDevName=${prefix}${i}`];
  args[`n${k}`] = gatewayArgs(`${prefix}${k}`, k);
  return args;
}

/** The relay links of a line n1 … n<k>: every link between two of its nodes, as [node, interface] at a relay. */
export function relayLinks(k: number): [string, string][] {
  // n2's eth1 to n1, then each relay's eth2 to the next node
  const links: [string, string][] = k > 2 ? [['n2', 'eth1']] : [];
  for (let i = 2; i < k; i++) links.push([`n${i}`, 'eth2']);
  return links;
}

/** The WireGuard device a client of tunDevName `tunDevName` makes towards the gateway of node id `id`. */
export function gatewayDevName(tunDevName: string, id: string): string {
  return `${tunDevName}wg_${id.slice(0, 8)}`;
}

/** The searches (tunOut names) of `show tunnels` rows that are encrypted, sorted. */
export function encryptedSearches(tunnels: Array<Record<string, unknown>>): unknown[] {
  return tunnels
    .filter((r) => r.crypt === 'encrypted')
    .map((r) => r.tunOut)
    .sort();
}

/**
 * Waits until the client n1 has both its searches (up4, up6) encrypted and reaches both uplink
 * hosts (`ping` from n1, IPv6 first); on a timeout throws with the searches, the pings and `state()`.
 */
export async function waitSearchesEncrypted(
  ctl: Ctl,
  ping: (family: 4 | 6, to: string) => boolean,
  state: () => string,
  timing: { timeoutMs: number; intervalMs: number },
): Promise<void> {
  const searches = () => encryptedSearches(showRows(ctl, 'n1', 'tunnels')).join();
  try {
    await waitFor(
      'both searches encrypted and the uplink reached',
      () => searches() === 'up4,up6' && ping(6, UPLINK.v6) && ping(4, UPLINK.v4),
      timing,
    );
  } catch (e) {
    throw new Error(
      `${(e as Error).message}\nsearches ${searches()} ping6 ${ping(6, UPLINK.v6)} ping4 ${ping(4, UPLINK.v4)}\n${state()}`,
    );
  }
}

/** SHA-256 of a key's text (trimmed), in hex: keys are compared as hashes, never printed. */
export function keyHash(text: string): string {
  return createHash('sha256').update(text.trim()).digest('hex');
}

/** Sends 5 UDP datagrams of `marker` to port 9 of `to`, 100 ms apart (errors ignored: no route is a result). */
const SEND_MARKER = `const d=require('dgram');const [to,m]=process.argv.slice(1);
const s=d.createSocket(to.includes(':')?'udp6':'udp4');s.on('error',()=>{});let n=0;
const t=setInterval(()=>{s.send(Buffer.from(m),9,to,()=>{});if(++n>=5){clearInterval(t);setTimeout(()=>s.close(),200);}},100);`;

/** What captureWhileSending captures and where. */
export interface CaptureOptions {
  mesh: Mesh;
  /** The bed that holds the uplink namespace (the captures run in it too). */
  bed: NetnsBed;
  /** The links to capture, as [node, interface]: the relay links between client and gateway. */
  links: readonly (readonly [string, string])[];
  /** The uplink namespace (captured on its eth0). */
  uplink: string;
  /** The gateway node: its directory holds the uplink's capture. */
  gateway: string;
  /** The sending node (default n1). */
  from?: string;
  /**
   * tshark (default): 5-s captures, the datagrams sent 2 s in, the packets read back with tshark
   * (IPv6 ones only). dumpcap: classic pcap files, the datagrams sent once every capture has written
   * its file header, the captures stopped 1.5 s later, the packets read by ipProtocols (tshark
   * starts too slowly under emulation).
   */
  tool?: 'tshark' | 'dumpcap';
}

/** A captured relay link: where (`<node> <interface>`), the raw capture file, its IP packets. */
export interface RelayCapture {
  where: string;
  pcap: Buffer;
  /** Per packet, the (first) IPv6 next header "6:<n>" or the IPv4 protocol "4:<n>". */
  protocols: string[];
}

/** The marker sent, the captures of the relay links, and the uplink's capture file. */
export interface Captured {
  marker: string;
  relay: RelayCapture[];
  uplink: Buffer;
}

let captures = 0;

/**
 * Captures the given links and the uplink while the client sends datagrams of a random marker to
 * both uplink hosts (UPLINK): the marker and what each capture holds.
 */
export async function captureWhileSending(o: CaptureOptions): Promise<Captured> {
  const { mesh, bed, links, uplink, gateway, from = 'n1', tool = 'tshark' } = o;
  const marker = randomBytes(16).toString('hex');
  const k = captures++;
  const start = (ns: string, iface: string, file: string): ChildProcess =>
    tool === 'dumpcap'
      ? bed.spawn(ns, 'dumpcap', ['-q', '-P', '-i', iface, '-w', file, '-a', 'duration:120'])
      : bed.spawn(ns, 'tshark', ['-q', '-i', iface, '-w', file, '-a', 'duration:5']);
  const files = links.map(([n, i]) => join(mesh.node(n).dir, `relay-${k}-${i}.pcap`));
  const upFile = join(mesh.node(gateway).dir, `uplink-${k}.pcap`);
  const procs = [
    ...links.map(([n, i], j) => start(mesh.node(n).ns, i, files[j]!)),
    start(uplink, 'eth0', upFile),
  ];
  let stderr = '';
  for (const p of procs) p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = procs.map((p) => new Promise<void>((r) => p.once('exit', () => r())));
  const send = () => {
    for (const to of [UPLINK.v4, UPLINK.v6])
      mesh.exec(from, process.execPath, ['-e', SEND_MARKER, to, marker], { timeoutMs: 60_000 });
  };
  if (tool === 'dumpcap') {
    try {
      // dumpcap writes the file's header once it captures
      const all = [...files, upFile];
      await waitFor('the captures running', () => all.every((f) => existsSync(f) && statSync(f).size >= 24), {
        timeoutMs: 60_000,
        intervalMs: 250,
      });
      send();
      await new Promise((r) => setTimeout(r, 1500));
    } catch (e) {
      throw new Error(`${(e as Error).message}\ndumpcap: ${stderr}`);
    } finally {
      for (const p of procs) p.kill('SIGINT');
      await Promise.all(exited);
    }
    const relay = links.map(([n, i], j) => {
      const pcap = readFileSync(files[j]!);
      return { where: `${n} ${i}`, pcap, protocols: ipProtocols(pcap) };
    });
    return { marker, relay, uplink: readFileSync(upFile) };
  }
  await new Promise((r) => setTimeout(r, 2000));
  send();
  await Promise.all(exited);
  const relay = links.map(([n, i], j) => ({
    where: `${n} ${i}`,
    pcap: readFileSync(files[j]!),
    // the next headers of each IPv6 packet ("17", "41,17" …): the first is the packet's own
    protocols: mesh
      .execOk(n, 'tshark', ['-r', files[j]!, '-T', 'fields', '-e', 'ipv6.nxt'])
      .split('\n')
      .filter(Boolean)
      .map((h) => `6:${h.split(',')[0]}`),
  }));
  return { marker, relay, uplink: readFileSync(upFile) };
}

/** A relay capture's packets of IP in IP (protocol or next header 4 or 41): plain tunnels' packets. */
export function ipInIp(r: RelayCapture): string[] {
  return r.protocols.filter((p) => ['6:4', '6:41', '4:4', '4:41'].includes(p));
}

/**
 * What an encrypted tunnel shows: the marker reaches the uplink and appears on no relay link, no
 * relay link carries IP in IP, and WireGuard's UDP (over IPv6) crosses each.
 */
export function expectOnlyWireguardOnRelays({ marker, relay, uplink }: Captured): void {
  expect(uplink.includes(marker), 'the marker reaches the uplink').toBe(true);
  for (const r of relay) {
    expect(r.pcap.includes(marker), `marker on ${r.where}`).toBe(false);
    expect(ipInIp(r), `IP in IP on ${r.where}`).toEqual([]);
    // WireGuard's UDP does cross it
    expect(r.protocols.includes('6:17'), `UDP over IPv6 on ${r.where}`).toBe(true);
  }
}

/**
 * The packets of a classic pcap file of Ethernet frames (dumpcap -P), as the IPv6 next header of
 * each IPv6 packet and the IPv4 protocol of each IPv4 packet ("6:<n>" and "4:<n>").
 */
function ipProtocols(pcap: Buffer): string[] {
  if (pcap.length < 24) return [];
  const magic = pcap.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && pcap.readUInt32BE(0) !== 0xa1b2c3d4 && pcap.readUInt32BE(0) !== 0xa1b23c4d)
    throw new Error(`not a pcap file (magic ${magic.toString(16)})`);
  const u32 = (o: number) => (le ? pcap.readUInt32LE(o) : pcap.readUInt32BE(o));
  const linkType = u32(20);
  if (linkType !== 1) throw new Error(`pcap link type ${linkType}, not Ethernet`);
  const out: string[] = [];
  for (let o = 24; o + 16 <= pcap.length; ) {
    const len = u32(o + 8);
    const frame = pcap.subarray(o + 16, o + 16 + len);
    o += 16 + len;
    if (frame.length < 14) continue;
    const type = frame.readUInt16BE(12);
    if (type === 0x86dd && frame.length >= 14 + 40) out.push(`6:${frame[14 + 6]}`);
    else if (type === 0x0800 && frame.length >= 14 + 20) out.push(`4:${frame[14 + 9]}`);
  }
  return out;
}

/** A wireguard-go process: its pid and the device it serves (`wireguard-go -f <dev>`). */
export interface WireguardGo {
  pid: number;
  dev: string;
}

/** The wireguard-go processes on this machine whose device name matches `dev`. */
export function wireguardGo(dev: RegExp): WireguardGo[] {
  const out: WireguardGo[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone already
    }
    const [cmd, flag, name] = argv;
    if (/(^|\/)wireguard-go$/.test(cmd ?? '') && flag === '-f' && name && dev.test(name))
      out.push({ pid: Number(pid), dev: name });
  }
  return out;
}

/** The pids of the wireguard-go processes on this machine that serve the device `dev`. */
export function wgGoPids(dev: string): number[] {
  return wireguardGo(/./)
    .filter((p) => p.dev === dev)
    .map((p) => p.pid);
}

/** A process's network namespace (`net:[<inode>]`), or '' when it is gone. */
function netnsOf(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return '';
  }
}

/**
 * Tears a crypt-tun test down: cleans `bed` and `mesh` up, then kills the wireguard-go processes of
 * devices matching `dev` (e.g. /^C[1-4]wg/) that are still in the mesh's namespaces (a daemon's
 * supervisor may restart one while they go), and removes the sockets of matching devices that no
 * other wireguard-go serves. Processes and sockets of other tests, or of another run of this one,
 * stay.
 */
export function cleanupCryptTest(dev: RegExp, mesh: Mesh | undefined, bed: NetnsBed | undefined): void {
  // the namespaces' identities, read while they still have names
  const ours = new Set<string>();
  for (const n of mesh?.nodes.values() ?? []) {
    try {
      ours.add(`net:[${statSync(join('/var/run/netns', n.ns)).ino}]`);
    } catch {
      // not made
    }
  }
  bed?.cleanup();
  mesh?.cleanup();
  const killed = new Set<number>();
  for (const p of wireguardGo(dev)) {
    if (!ours.has(netnsOf(p.pid))) continue;
    killed.add(p.pid);
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  const served = new Set(
    wireguardGo(dev)
      .filter((p) => !killed.has(p.pid))
      .map((p) => p.dev),
  );
  for (const f of existsSync(UAPI_DIR) ? readdirSync(UAPI_DIR) : [])
    if (f.endsWith('.sock') && dev.test(f) && !served.has(f.slice(0, -5)))
      rmSync(join(UAPI_DIR, f), { force: true });
}
