/**
 * metricsListen and httpListen on real daemons, with WireGuard (wireguard-go) and a post-quantum PSK:
 *
 *   n1 client [eth1] ── [eth1] n2 [eth2] ── [eth1] n3 gateway [up0] ── uplink
 *   9100 metrics         [::1]:9100 metrics       9100 metrics and page
 *   8080 page            8080 page
 *
 * n1 reaches the uplink through an encrypted tunnel (cryptTun=2) to n3. Every scrape runs curl inside
 * the node's namespace, on loopback. What is checked: promtool check metrics on the scraped text
 * format and Prometheus' OpenMetrics parser on the OpenMetrics one; the families for links,
 * originators, traffic and the encrypted tunnel; the page's JSON; 405 for every method but GET and
 * HEAD; listeners on loopback only by default (another node cannot connect); no output of any
 * endpoint holding a node's RSA key, WireGuard private key or ML-KEM seed in any encoding; changes
 * at runtime (bmx7ctl -c metricsListen=…), and a move to an address that cannot be listened on
 * keeps the old listener; an address in use stops a start with one line.
 *
 * Device names start with the nodes' tunDevNames M1 … M3 (wireguard-go's sockets share one directory).
 */
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupCryptTest, gatewayDevName, lineArgs, waitSearchesEncrypted } from '../test/crypt.js';
import {
  addUplink,
  bmx7dArgs,
  bmx7dSpec,
  ctlFor,
  daemonArgv,
  daemonLog,
  primaryOf,
  showRows,
} from '../test/helpers.js';
import { openMetricsParse, promtoolCheck } from '../test/observe.js';
import { findSecrets, nodeSecrets } from '../test/secrets.js';
import { makeKeys } from '../test/trust.js';

const args = lineArgs('M', 3);
const LISTEN: Record<string, string[]> = {
  n1: ['metricsListen=9100', 'httpListen=8080'],
  n2: ['metricsListen=[::1]:9100', 'httpListen=8080'],
  n3: ['metricsListen=9100', 'httpListen=9100'],
};
const OPENMETRICS = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';

/** One HTTP exchange inside a node (curl): status, the header block, the body's bytes. */
interface Fetched {
  status: number;
  head: string;
  body: Buffer;
}

describeNetns('metrics and the status page of bmx7d nodes (metricsListen, httpListen)', () => {
  let mesh: Mesh;
  let bed: NetnsBed;
  let ids: Record<string, string>;
  const ctl = ctlFor(() => mesh);
  const ping = (family: 4 | 6, to: string) =>
    mesh.exec('n1', 'ping', [`-${family}`, '-c', '2', '-i', '0.2', '-W', '1', to]).status === 0;
  let fetches = 0;
  /** curl in a node: `url` on loopback unless it names another address. */
  const fetchIn = (
    node: string,
    url: string,
    opts: { method?: string; headers?: string[] } = {},
  ): Fetched => {
    const k = fetches++;
    const head = join(mesh.node(node).dir, `fetch-${k}.head`);
    const body = join(mesh.node(node).dir, `fetch-${k}.body`);
    const r = mesh.exec(node, 'curl', [
      '-sS',
      '-g',
      '--max-time',
      '10',
      ...(opts.method === 'HEAD' ? ['-I'] : opts.method ? ['-X', opts.method] : []),
      ...(opts.headers ?? []).flatMap((h) => ['-H', h]),
      '-D',
      head,
      '-o',
      body,
      '-w',
      '%{http_code}',
      url,
    ]);
    try {
      return {
        status: Number(r.stdout),
        head: existsSync(head) ? readFileSync(head, 'utf8') : '',
        body: existsSync(body) ? readFileSync(body) : Buffer.alloc(0),
      };
    } finally {
      rmSync(head, { force: true });
      rmSync(body, { force: true });
    }
  };
  const metricsOf = (node: string, accept?: string) => {
    const f = fetchIn(node, `http://${node === 'n2' ? '[::1]' : '127.0.0.1'}:9100/metrics`, {
      headers: accept ? [`Accept: ${accept}`] : [],
    });
    expect(f.status).toBe(200);
    return f.body.toString('utf8');
  };
  const sample = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l));

  beforeAll(async () => {
    mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'om' });
    bed = createNetnsBed('ou');
    addUplink(mesh, bed, 'n3');
    ids = makeKeys(mesh);
    mesh.startAll(
      bmx7dSpec((n) => [
        'linkTimeout=10000',
        ...(args[n.name] ?? []).flatMap((a) => a.split(' ')),
        ...(LISTEN[n.name] ?? []),
      ]),
    );
    for (const n of ['n1', 'n2', 'n3'])
      await waitFor(`primary address of ${n}`, () => primaryOf(mesh, n), { timeoutMs: 20_000 });
    await waitSearchesEncrypted(
      ctl,
      ping,
      () => ['n1', 'n3'].map((n) => `--- ${n} ---\n${daemonLog(mesh, n, 3000)}`).join('\n'),
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    const gw = gatewayDevName('M1', ids.n3!);
    await waitFor(
      'a post-quantum PSK and a handshake on n1',
      () => {
        const r = showRows(ctl, 'n1', 'wg').find((x) => x.dev === gw);
        return r?.psk === 'pq' && typeof r.lastHandshake === 'number';
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  }, 150_000);
  afterAll(() => cleanupCryptTest(/^M[1-3]wg/, mesh, bed));

  it('promtool check metrics passes on the text format scraped from each node', () => {
    for (const n of ['n1', 'n2', 'n3']) {
      const text = metricsOf(n);
      const r = promtoolCheck(text);
      expect(r.output, `${n}: promtool`).toBe('');
      expect(r.status, `${n}: promtool`).toBe(0);
    }
  });

  it("OpenMetrics, as Prometheus asks for it, passes Prometheus' OpenMetrics parser", () => {
    const f = fetchIn('n1', 'http://127.0.0.1:9100/metrics', { headers: [`Accept: ${OPENMETRICS}`] });
    expect(f.head).toMatch(/content-type: application\/openmetrics-text; version=1\.0\.0; charset=utf-8/i);
    const text = f.body.toString('utf8');
    expect(text.endsWith('# EOF\n')).toBe(true);
    const r = openMetricsParse(text);
    expect(r.status, r.output).toBe(0);
  });

  it('n1: links, originators, routes, traffic per frame type, and its encrypted tunnel with a PQ PSK', () => {
    const text = metricsOf('n1');
    const value = (re: RegExp) => Number(sample(text, re)[0]?.split(' ').pop());
    expect(value(/^bmx7_originators /)).toBe(2);
    expect(value(/^bmx7_links /)).toBe(1);
    for (const q of ['rq', 'tq']) {
      const v = value(
        new RegExp(
          `^bmx7_link_${q}_ratio\\{dev="eth1",neighbour="n2",neighbour_id="${ids.n2!.slice(0, 8)}",`,
        ),
      );
      expect(v, q).toBeGreaterThan(0);
      expect(v, q).toBeLessThanOrEqual(1);
    }
    expect(value(/^bmx7_routes /)).toBeGreaterThanOrEqual(2);
    expect(value(/^bmx7_descriptions /)).toBe(3);
    expect(value(/^bmx7_originator_hops\{originator="n3"/)).toBe(2);
    for (const type of ['HELLO_ADV', 'OGM_ADV', 'DESC_ADV', 'SIGNATURE_ADV']) {
      expect(value(new RegExp(`^bmx7_frames_received_total\\{type="${type}"\\}`)), type).toBeGreaterThan(0);
      expect(value(new RegExp(`^bmx7_sent_bytes_total\\{type="${type}"\\}`)), type).toBeGreaterThan(0);
    }
    expect(value(/^bmx7_packets_received_total /)).toBeGreaterThan(10);
    expect(sample(text, /^bmx7_packets_dropped_total\{reason=/)).toHaveLength(8);
    const gw = gatewayDevName('M1', ids.n3!);
    const tunnels = sample(text, /^bmx7_tunnel_info\{/);
    expect(tunnels.length).toBe(2);
    for (const t of tunnels)
      expect(t).toMatch(new RegExp(`gateway="n3",.*dev="${gw}",crypt="encrypted",psk="pq"\\} 1$`));
    const peer = `dev="${gw}",peer="n3",peer_id="${ids.n3!.slice(0, 8)}"`;
    expect(value(new RegExp(`^bmx7_wg_handshake_age_seconds\\{${peer}\\}`))).toBeLessThan(180);
    expect(value(new RegExp(`^bmx7_wg_received_bytes_total\\{${peer}\\}`))).toBeGreaterThan(0);
    expect(value(new RegExp(`^bmx7_wg_psk_epoch\\{${peer}\\}`))).toBeGreaterThanOrEqual(1);
    expect(value(new RegExp(`^bmx7_tunnel_device_sent_bytes_total\\{dev="${gw}"\\}`))).toBeGreaterThan(0);
  });

  it('n3 (the gateway) serves metrics and the page on one address; its client is a WireGuard peer', () => {
    const text = metricsOf('n3');
    expect(sample(text, /^bmx7_wg_peer_info\{dev="M3wgIn",peer="n1",.*psk="pq"\} 1$/)).toHaveLength(1);
    const page = fetchIn('n3', 'http://127.0.0.1:9100/');
    expect(page.status).toBe(200);
    expect(page.head).toMatch(/content-security-policy: default-src 'none'; script-src 'sha256-/i);
    expect(page.body.toString()).toContain('<!doctype html>');
  });

  it("the page's JSON: the node, its two originators, its link and the encrypted tunnel", () => {
    const f = fetchIn('n1', 'http://127.0.0.1:8080/api/status');
    expect(f.status).toBe(200);
    expect(f.head).toMatch(/content-type: application\/json; charset=utf-8/i);
    const s = JSON.parse(f.body.toString());
    expect(s.node).toMatchObject({ name: 'n1', shortId: ids.n1!.slice(0, 8) });
    expect(s.originators.map((o: { name: string }) => o.name).sort()).toEqual(['n2', 'n3']);
    expect(s.links).toHaveLength(1);
    expect(s.tunnels.map((t: { crypt: string; psk: string }) => `${t.crypt}/${t.psk}`)).toEqual([
      'encrypted/pq',
      'encrypted/pq',
    ]);
  });

  it('read-only: every method but GET and HEAD gets 405, on every path', () => {
    for (const url of [
      'http://127.0.0.1:9100/metrics',
      'http://127.0.0.1:8080/',
      'http://127.0.0.1:8080/api/status',
    ]) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        const f = fetchIn('n1', url, { method });
        expect(f.status, `${method} ${url}`).toBe(405);
        expect(f.head).toMatch(/^allow: GET, HEAD\r?$/im);
      }
      expect(fetchIn('n1', url, { method: 'HEAD' }).status).toBe(200);
    }
  });

  it('loopback only by default: the listeners are on 127.0.0.1, another node cannot connect', () => {
    const listening = mesh
      .execOk('n1', 'ss', ['-Hltn'])
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[3])
      .filter((a) => a?.endsWith(':9100') || a?.endsWith(':8080'));
    expect(listening.sort()).toEqual(['127.0.0.1:8080', '127.0.0.1:9100']);
    const n1 = primaryOf(mesh, 'n1')!;
    for (const port of [9100, 8080]) {
      const r = mesh.exec('n2', 'curl', ['-sS', '-g', '--max-time', '5', `http://[${n1}]:${port}/`]);
      expect(r.status, `n2 → n1:${port}`).toBe(7); // curl: could not connect
    }
    // a page elsewhere reaching it through a name that resolves to 127.0.0.1 (DNS rebinding)
    expect(
      fetchIn('n1', 'http://127.0.0.1:9100/metrics', { headers: ['Host: evil.example:9100'] }).status,
    ).toBe(403);
  });

  it("no output of any endpoint holds a node's RSA key, WireGuard private key or ML-KEM seed, in any encoding", () => {
    const secrets = ['n1', 'n2', 'n3'].flatMap((n) => {
      const dir = mesh.node(n).dir;
      // WireGuard runs: its key and the KEM seed exist, so the check means something
      expect(existsSync(join(dir, 'wg', 'private.key')), `${n} wg key`).toBe(true);
      expect(existsSync(join(dir, 'wg', 'kem.key')), `${n} KEM seed`).toBe(true);
      return nodeSecrets(n, dir);
    });
    // the check finds a key where there is one, and only that one: the WireGuard key file as it is
    const wgKey = readFileSync(join(mesh.node('n1').dir, 'wg', 'private.key'));
    const wgHits = findSecrets('a copy', Buffer.concat([Buffer.from('x'), wgKey]), secrets);
    expect(wgHits).toContain('n1 WireGuard private key as base64+0 in a copy');
    expect(wgHits.filter((h) => !h.startsWith('n1 WireGuard private key as '))).toEqual([]);
    const pem = createPrivateKey({
      key: readFileSync(join(mesh.node('n2').dir, 'rsa.der')),
      format: 'der',
      type: 'pkcs1',
    })
      .export({ format: 'pem', type: 'pkcs8' })
      .toString();
    // PEM breaks the base64 into lines: its parts are found, and they are n2's RSA key's only
    const pemHits = findSecrets('a PEM', Buffer.from(pem), secrets);
    expect(pemHits).toContain('n2 RSA key as PKCS#8 as part of base64+0 in a PEM');
    expect(pemHits.filter((h) => !h.startsWith('n2 RSA '))).toEqual([]);
    const outputs: { where: string; f: Fetched }[] = [];
    const at = {
      n1: ['127.0.0.1:9100', '127.0.0.1:8080'],
      n2: ['[::1]:9100', '127.0.0.1:8080'],
      n3: ['127.0.0.1:9100'],
    };
    for (const [node, addrs] of Object.entries(at))
      for (const a of addrs)
        for (const path of ['/', '/metrics', '/api/status', '/nothing', '/metrics?x=1'])
          for (const req of [
            {},
            { headers: [`Accept: ${OPENMETRICS}`] },
            { method: 'HEAD' },
            { method: 'POST' },
            { headers: ['Host: evil.example'] },
          ])
            outputs.push({
              where: `${node} ${a}${path} ${JSON.stringify(req)}`,
              f: fetchIn(node, `http://${a}${path}`, req),
            });
    expect(outputs.filter((o) => o.f.status === 200).length).toBeGreaterThan(20);
    for (const { where, f } of outputs) {
      expect(findSecrets(where, Buffer.concat([Buffer.from(f.head), f.body]), secrets)).toEqual([]);
    }
    console.log(`observe: ${outputs.length} responses of 3 nodes checked against ${secrets.length} secrets`);
  });

  it('bmx7ctl -c metricsListen=… moves the listener at runtime, metricsListen=- turns it off; a bad value is refused', async () => {
    const r = ctl('n2', '-c', 'metricsListen=9200');
    expect(r.status, r.stderr).toBe(0);
    await waitFor(
      'n2 metrics on 127.0.0.1:9200',
      () => fetchIn('n2', 'http://127.0.0.1:9200/metrics').status === 200,
      {
        timeoutMs: 10_000,
      },
    );
    expect(
      mesh.exec('n2', 'curl', ['-sS', '-g', '--max-time', '5', 'http://[::1]:9100/metrics']).status,
    ).toBe(7);
    const bad = ctl('n2', '-c', 'metricsListen=[::1]:0');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/metricsListen.*port outside 1-65535/);
    expect(fetchIn('n2', 'http://127.0.0.1:9200/metrics').status).toBe(200);
    expect(ctl('n2', '-c', 'metricsListen=-').status).toBe(0);
    await waitFor(
      'n2 metrics off',
      () => mesh.exec('n2', 'curl', ['-sS', '--max-time', '5', 'http://127.0.0.1:9200/']).status === 7,
      {
        timeoutMs: 10_000,
      },
    );
    expect(fetchIn('n2', 'http://127.0.0.1:8080/').status).toBe(200);
  });

  it('a runtime move to an address that cannot be listened on keeps the old listener serving, and is logged', async () => {
    // not an address of n2: the new listener fails (the set was answered before it could be opened)
    const log = () => daemonLog(mesh, 'n2', 10_000_000);
    const r = ctl('n2', '-c', 'httpListen=192.0.2.77:8080');
    expect(r.status, r.stderr).toBe(0);
    await waitFor('the failure logged', () => /observe: not listening/.test(log()), { timeoutMs: 10_000 });
    expect(log()).toMatch(
      /observe: not listening.*httpListen: cannot listen on 192\.0\.2\.77:8080 \(EADDRNOTAVAIL\); still served on 127\.0\.0\.1:8080/,
    );
    expect(fetchIn('n2', 'http://127.0.0.1:8080/').status).toBe(200);
    expect(fetchIn('n2', 'http://127.0.0.1:8080/api/status').status).toBe(200);
    // back to the address it still serves: the same listener goes on, nothing more fails
    const listened = () => log().match(/observe: listening/g)?.length ?? 0;
    const before = listened();
    expect(ctl('n2', '-c', 'httpListen=8080').status).toBe(0);
    await waitFor('the change applied', () => listened() > before, { timeoutMs: 10_000 });
    expect(fetchIn('n2', 'http://127.0.0.1:8080/').status).toBe(200);
    expect(log().match(/observe: not listening/g)).toHaveLength(1);
  });

  it('an address in use stops a start with status 1 and one line naming the option', () => {
    const n = mesh.node('n2');
    const r = mesh.exec(
      'n2',
      process.execPath,
      daemonArgv(bmx7dArgs({ ...n, dir: join(n.dir, 'second') }, ['httpListen=8080'])),
      { timeoutMs: 30_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('bmx7d: httpListen: cannot listen on 127.0.0.1:8080 (EADDRINUSE)\n');
    // before anything else: not even a key was made
    expect(existsSync(join(n.dir, 'second', 'rsa.der'))).toBe(false);
  });
});
