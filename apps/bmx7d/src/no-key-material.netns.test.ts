/**
 * No output of bmx7d or bmx7ctl shows key material. Two real daemons with WireGuard (wireguard-go)
 * and an encrypted tunnel with a static PSK file and post-quantum PSKs:
 *
 *   n1 client [eth1] ── [eth1] n2 gateway [up0] ── uplink
 *
 * Once the tunnel carries traffic, every output of both nodes is collected: every table (as the
 * daemon lists them) at each relevance, in text, in JSON and in the reference's plain-text
 * protocol; parameters, `get` of every option (wgPsk included), version, help, descriptions;
 * `topology --netjson`, `--dot`, `explain tunnels` and their `--json`; the log stream at level 12
 * and the daemon's own log; a capture of the link decoded by `bmx7ctl dump`; the metrics and the
 * status page with its JSON (metricsListen, httpListen). All of it is searched for both nodes'
 * secrets (test/secrets.ts): the RSA key file, its PKCS#8 form and its private numbers, the
 * WireGuard private keys, the KEM seeds, the PSK file and the PSKs on the WireGuard devices, whole
 * and in parts. A hit names the secret, never shows it. The search is shown to find what it looks for: `wg show` output holds the keys.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { daemonOptionTable } from './options.js';
import { BUILTIN_PLUGINS } from './plugins.js';
import { cleanupCryptTest, lineArgs, waitSearchesEncrypted } from './test/crypt.js';
import {
  addUplink,
  bmx7dSpec,
  ctlArgv,
  ctlFor,
  daemonLog,
  primaryOf,
  showRows,
  UPLINK,
} from './test/helpers.js';
import { networkGraphErrors } from './test/netjson.js';
import { findSecrets, nodeSecrets, type Secret, secretOf } from './test/secrets.js';
import { makeKeys } from './test/trust.js';

const NODES = ['n1', 'n2'] as const;
const METRICS_PORT = 9100;
const HTTP_PORT = 8080;

/** Fetches a URL (argv: url, Accept) and writes the body; exits 1 on an error or a status other than 200. */
const FETCH = `const [u,a]=process.argv.slice(1);fetch(u,{headers:{accept:a},signal:AbortSignal.timeout(10000)})
.then(async(r)=>{process.stdout.write(await r.text());if(r.status!==200){console.error('HTTP '+r.status);process.exit(1);}})
.catch((e)=>{console.error(String(e));process.exit(1);});`;

/** One output: where it came from and what it said (stdout and stderr). */
interface Output {
  what: string;
  text: string;
}

describeNetns('no output shows key material', () => {
  let mesh: Mesh;
  let bed: NetnsBed;
  const ctl = ctlFor(() => mesh, { timeoutMs: 60_000 });
  const dir = (n: string) => mesh.node(n).dir;
  const psk = (n: string) => join(dir(n), 'static.psk');
  const ping = (family: 4 | 6, to: string) =>
    mesh.exec('n1', 'ping', [`-${family}`, '-c', '2', '-i', '0.2', '-W', '1', to]).status === 0;

  beforeAll(async () => {
    mesh = createMesh({ kind: 'line', n: 2 }, { prefix: 'nk' });
    bed = createNetnsBed('nl');
    addUplink(mesh, bed, 'n2');
    makeKeys(mesh);
    // one static PSK, in a file of each node (as `wg genpsk` writes it)
    const key = `${randomBytes(32).toString('base64')}\n`;
    for (const n of NODES) writeFileSync(psk(n), key, { mode: 0o600 });
    const args = lineArgs('S', 2);
    mesh.startAll(
      bmx7dSpec((n) => [
        'linkTimeout=10000',
        `wgPsk=${psk(n.name)}`,
        `metricsListen=${METRICS_PORT}`,
        `httpListen=${HTTP_PORT}`,
        ...(args[n.name] ?? []).flatMap((a) => a.split(' ')),
      ]),
    );
    for (const n of NODES)
      await waitFor(`primary address of ${n}`, () => primaryOf(mesh, n), { timeoutMs: 20_000 });
  }, 60_000);
  afterAll(() => cleanupCryptTest(/^S[12]wg/, mesh, bed));

  /** Runs bmx7ctl against a node: stdout and stderr as one output; fails the test if it fails. */
  const run = (n: string, ...args: string[]): Output => {
    const r = ctl(n, ...args);
    expect(r.status, `bmx7ctl ${args.join(' ')} on ${n}: ${r.stderr}`).toBe(0);
    return { what: `${n}: bmx7ctl ${args.join(' ')}`, text: `${r.stdout}${r.stderr}` };
  };

  /** Sends JSON requests on a node's control socket; the raw reply lines. */
  const raw = (n: string, requests: object[]): Promise<string> =>
    new Promise((resolve, reject) => {
      const sock = net.createConnection(join(dir(n), 'run', 'sock'));
      let text = '';
      sock.on('connect', () => {
        sock.write(requests.map((r, i) => `${JSON.stringify({ id: i + 1, ...r })}\n`).join(''));
        sock.end();
      });
      sock.on('data', (d) => {
        text += d;
      });
      sock.on('close', () => resolve(text));
      sock.on('error', reject);
    });

  /** The log stream at level 12 for a few seconds, while the node makes a new description. */
  const logStream = (n: string): Promise<Output> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ctlArgv(['--runtime-dir', join(dir(n), 'run'), 'log', '12']));
      let text = '';
      child.stdout.on('data', (d) => {
        text += d;
      });
      child.stderr.on('data', (d) => {
        text += d;
      });
      setTimeout(() => run(n, 'set', 'descUpdate'), 2000);
      setTimeout(() => child.kill('SIGINT'), 6000);
      child.on('exit', () => resolve({ what: `${n}: bmx7ctl log 12`, text }));
    });

  /** A capture of the node's link while it talks, and bmx7ctl dump of it (text and JSON). */
  const dumped = async (n: string): Promise<Output[]> => {
    const file = join(dir(n), 'link.pcap');
    const cap = bed.spawn(mesh.node(n).ns, 'dumpcap', [
      '-q',
      '-P',
      '-i',
      'eth1',
      '-w',
      file,
      '-a',
      'duration:60',
    ]);
    await waitFor('the capture running', () => existsSync(file) && statSync(file).size >= 24, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    // a description update brings descriptions onto the link as well as hellos and OGMs
    run(n, 'set', 'descUpdate');
    await new Promise((r) => setTimeout(r, 4000));
    const exited = new Promise((r) => cap.once('exit', r));
    cap.kill('SIGINT');
    await exited;
    // dump needs no daemon (and takes no runtime directory)
    return [
      ['dump', file],
      ['dump', '--json', file],
    ].map((args) => {
      const r = spawnSync(process.execPath, ctlArgv(args), { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, `bmx7ctl ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return { what: `${n}: bmx7ctl ${args.join(' ')}`, text: `${r.stdout}${r.stderr}` };
    });
  };

  /** The node's HTTP endpoints, fetched inside its namespace (they listen on its loopback). */
  const http = (n: string): Output[] =>
    [
      [METRICS_PORT, '/metrics', 'text/plain'],
      [METRICS_PORT, '/metrics', 'application/openmetrics-text; version=1.0.0'],
      [METRICS_PORT, '/', '*/*'],
      [HTTP_PORT, '/', 'text/html'],
      [HTTP_PORT, '/api/status', 'application/json'],
    ].map(([port, path, accept]) => {
      const url = `http://127.0.0.1:${port}${path}`;
      const r = mesh.exec(n, process.execPath, ['-e', FETCH, url, String(accept)], { timeoutMs: 20_000 });
      expect(r.status, `${url} on ${n}: ${r.stderr}`).toBe(0);
      expect(r.stdout.length, `${url} on ${n}`).toBeGreaterThan(0);
      return { what: `${n}: GET ${url} (${accept})`, text: r.stdout };
    });

  it('an encrypted tunnel with a static PSK and post-quantum PSKs is up', async () => {
    await waitSearchesEncrypted(
      ctl,
      ping,
      () => NODES.map((n) => `--- ${n} ---\n${daemonLog(mesh, n, 3000)}`).join('\n'),
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    await waitFor(
      'post-quantum PSKs on both ends',
      () =>
        showRows(ctl, 'n1', 'wg').some((r) => r.psk === 'pq') &&
        showRows(ctl, 'n2', 'wg').some((r) => r.psk === 'pq'),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(ping(6, UPLINK.v6)).toBe(true);
  }, 150_000);

  it('every output of both nodes, searched for both nodes’ secrets, shows none', async () => {
    // the secrets: key files, and the PSKs the WireGuard devices hold now
    const secrets: Secret[] = [];
    for (const n of NODES) {
      secrets.push(...nodeSecrets(n, dir(n), [psk(n)]));
      for (const line of mesh.execOk(n, 'wg', ['show', 'all', 'preshared-keys']).split('\n')) {
        const key = line.split('\t')[2]?.trim();
        if (key && key !== '(none)')
          secrets.push(secretOf(`${n} PSK on a WireGuard device`, Buffer.from(key, 'base64')));
      }
    }
    expect(secrets.filter((s) => s.name.includes('on a WireGuard device')).length).toBeGreaterThanOrEqual(2);

    // the search finds what it looks for: wg(8) shows the private keys and PSKs
    for (const n of NODES) {
      const devs = mesh.execOk(n, 'wg', ['show', 'interfaces']).trim().split(/\s+/);
      const wg = devs.map((d) => mesh.execOk(n, 'wg', ['showconf', d])).join('\n');
      const hits = findSecrets(`${n} wg showconf`, wg, secrets);
      expect(
        hits.some((h) => h.startsWith(`${n} WireGuard private key as base64+0`)),
        `${devs.join()}: ${hits.join('; ')}`,
      ).toBe(true);
      expect(hits.some((h) => h.includes('PSK'))).toBe(true);
    }
    expect(
      findSecrets('the key file as hex', readFileSync(join(dir('n1'), 'rsa.der')).toString('hex'), secrets),
    ).not.toEqual([]);

    const options = daemonOptionTable(BUILTIN_PLUGINS)
      .all()
      .map((o) => o.name);
    expect(options).toContain('wgPsk');
    const outputs: Output[] = [];
    for (const n of NODES) {
      // the tables the daemon has
      const listed = await raw(n, [{ op: 'hello' }, { op: 'tables' }]);
      outputs.push({ what: `${n}: tables`, text: listed });
      const tables = (JSON.parse(listed.trim().split('\n')[1]!).result as { tables: string[] }).tables;
      expect(tables).toEqual(
        expect.arrayContaining(['status', 'links', 'originators', 'tunnels', 'wg', 'topology']),
      );
      const shows = tables.map((t) => `show=${t}`);
      const all = tables.flatMap((t) => [`show=${t}`, '/r=0']);
      outputs.push(
        run(n, '-c', ...shows),
        run(n, '-c', ...all),
        run(n, '--json', '-c', ...all),
        run(n, '--legacy', '-c', ...all),
        run(n, '--legacy', '-c', 'parameters', 'version'),
        run(n, 'parameters'),
        run(n, '--json', 'parameters'),
        run(n, 'version'),
        run(n, '--json', 'version'),
        run(n, 'status'),
        run(n, 'help', 'verbose', '/r=0'),
        run(n, 'descriptions', '/r=0'),
        run(n, '--json', 'descriptions', '/r=0'),
        run(n, 'get', 'wgPsk'),
        run(n, '--json', 'get', 'wgPsk'),
        run(n, 'get', 'nodeRsaKey'),
        run(n, 'topology'),
        run(n, 'topology', '--netjson'),
        run(n, 'topology', '--dot'),
        run(n, 'explain', 'tunnels'),
        run(n, '--json', 'explain', 'tunnels'),
      );
      // every option by get, and every description at every relevance, on one connection
      outputs.push({
        what: `${n}: get of every option, descriptions`,
        text: await raw(n, [
          ...options.map((name) => ({ op: 'get', args: { name } })),
          ...[0, 1, 2].map((relevance) => ({ op: 'descriptions', args: { relevance } })),
          { op: 'topology' },
          { op: 'explain', args: { subject: 'tunnels' } },
        ]),
      });
      outputs.push(await logStream(n));
      outputs.push(...(await dumped(n)));
      outputs.push(...http(n));
      outputs.push({ what: `${n}: daemon log`, text: readFileSync(join(dir(n), 'daemon.log'), 'utf8') });
    }
    // what the outputs say is what was asked: the tunnel, the PSK file's name, the graph
    const n1 = (what: string) => outputs.find((o) => o.what === `n1: bmx7ctl ${what}`)!.text;
    expect(n1('get wgPsk')).toContain(psk('n1'));
    expect(n1('explain tunnels')).toMatch(/^tunOut=up6 .*\(encrypted\)$/m);
    expect(networkGraphErrors(JSON.parse(n1('topology --netjson')))).toEqual([]);
    // the stream carried the change made while it ran
    expect(n1('log 12')).toMatch(/descUpdate/);
    expect(
      outputs.find((o) => o.what === 'n1: bmx7ctl dump '.concat(join(dir('n1'), 'link.pcap')))!.text,
    ).toMatch(/DESC_ADV|HELLO/);

    const hits = outputs.flatMap((o) => findSecrets(o.what, o.text, secrets));
    expect(hits).toEqual([]);
    const bytes = outputs.reduce((s, o) => s + o.text.length, 0);
    const needles = secrets.reduce((s, x) => s + x.needles.length, 0);
    console.log(
      `no key material: ${outputs.length} outputs of 2 nodes (${(bytes / 1024).toFixed(0)} KiB) searched for ${secrets.length} secrets in ${needles} forms; none found`,
    );
  }, 240_000);
});
