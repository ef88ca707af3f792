import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bmx7dSpec, ctlArgv, primaryOf, tableRoutes } from './test/helpers.js';

//   n1 [eth1] ──veth── [eth1] n2
describeNetns('bmx7d control socket and bmx7ctl', () => {
  let mesh: Mesh;
  const ip: Record<string, string> = {};
  const run = (node: string, ...args: string[]) =>
    spawnSync(process.execPath, ctlArgv(['--runtime-dir', join(mesh.node(node).dir, 'run'), ...args]), {
      encoding: 'utf8',
      timeout: 20_000,
    });
  const sockOf = (node: string) => join(mesh.node(node).dir, 'run', 'sock');

  beforeAll(async () => {
    mesh = createMesh({ kind: 'line', n: 2 }, { prefix: 'bc' });
    for (const n of mesh.nodes.values())
      writeFileSync(join(n.dir, 'bmx7d.conf'), '# bmx7d test config\nogmInterval=5000\n');
    // eth5 does not exist yet: it appears later (interface tracking)
    mesh.startAll(bmx7dSpec((n) => ['--config', join(n.dir, 'bmx7d.conf'), 'dev=eth5']));
    for (const n of ['n1', 'n2'])
      ip[n] = await waitFor(`primary address of ${n}`, () => primaryOf(mesh, n), { timeoutMs: 15_000 });
    await waitFor(
      'routes both ways',
      () => tableRoutes(mesh, 'n1').includes(ip.n2!) && tableRoutes(mesh, 'n2').includes(ip.n1!),
      {
        timeoutMs: 20_000,
        intervalMs: 250,
      },
    );
  }, 45_000);
  afterAll(() => mesh?.cleanup());

  it('the socket is mode 0600; show tables with the reference columns, in both syntaxes and --json', () => {
    expect(statSync(sockOf('n1')).mode & 0o777).toBe(0o600);
    const a = run('n1', '-c', 'show=originators');
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toMatch(
      /^ORIGINATORS:\nshortId +name +as +S +s +T +t +descSqn +lastDesc +descSize +cv +revision +primaryIp +dev +nbShortId +nbName +metric +hops +ogmSqn +lastRef/,
    );
    expect(a.stdout).toMatch(
      new RegExp(
        `\\n[0-9A-F]{8} +n2 .* ${ip.n2!.replaceAll(':', ':')} +eth1 +[0-9A-F]{8} +n2 +\\d+[KMG]? +1 `,
      ),
    );
    const b = run('n1', 'show', 'originators');
    expect(b.stdout.split('\n')[1]).toBe(a.stdout.split('\n')[1]);
    const j = run('n1', '--json', 'show', 'originators');
    expect(
      JSON.parse(j.stdout)
        .rows.map((r: { name: string }) => r.name)
        .sort(),
    ).toEqual(['n1', 'n2']);
    for (const t of ['status', 'interfaces', 'links', 'keys']) {
      const r = run('n1', '-c', `show=${t}`);
      expect(r.status, `${t}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^${t.toUpperCase()}:\\n`));
    }
    // the revision of this checkout (revision.ts), the node's compatibility version, and nodes as
    // the reference counts them: described / known keys
    const rev = spawnSync('git', ['rev-parse', '--short=7', 'HEAD'], { encoding: 'utf8' });
    const revision = rev.status === 0 ? rev.stdout.trim().slice(0, 7) : '[0-9a-f]{7}';
    expect(run('n1', '-c', 'status').stdout).toMatch(
      new RegExp(`\\n[0-9A-F]{8} +n1 +RSA2048 +21 +${revision} +fd70:.* 2/2 *\\n`),
    );
    const origs = JSON.parse(run('n1', '--json', 'show', 'originators').stdout).rows as {
      name: string;
      cv: number;
      revision: string;
    }[];
    expect(origs.map((r) => [r.name, r.cv]).sort()).toEqual([
      ['n1', 21],
      ['n2', 21],
    ]);
    expect(origs.find((r) => r.name === 'n1')?.revision).toMatch(new RegExp(`^${revision}$`));
  });

  it('tunnel options are taken at runtime, a bad one is refused naming it, and the daemon stays up', () => {
    // a search at runtime, then removed again
    expect(run('n1', '-c', 'tunOut=inet', '/network=192.0.2.0/24').status).toBe(0);
    expect(run('n1', '-c', 'parameters').stdout).toMatch(/tunOut\s+inet/);
    expect(run('n1', '-c', 'tunOut=-inet').status).toBe(0);
    // the tun plugin's own checks: its table may not be the core's table 70, a network has no host bits
    for (const argv of [
      ['-c', 'tunOut=bad', '/network=10.0.0.0/8', '/tableRule=30000/70'],
      ['-c', 'tunOut=bad', '/network=10.0.0.1/8'],
    ]) {
      const r = run('n1', ...argv);
      const name = (argv[1] as string).split('=')[0] as string;
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(name);
    }
    expect(run('n1', '-c', 'parameters').stdout).not.toMatch(/tunOut|tunDev/);
    expect(run('n1', 'show', 'status').status).toBe(0);
  });

  it('clients that take the busy reply and vanish, or connect and stay silent, neither kill nor lock out the daemon', async () => {
    const path = sockOf('n1');
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 16; i++)
        held.push(
          await new Promise<net.Socket>((resolve, reject) => {
            const s = net.createConnection(path, () => resolve(s));
            s.once('error', reject);
          }),
        );
      for (const h of held) h.on('error', () => {});
      // the 17th gets `busy`, never reads it and leaves: ECONNRESET on the daemon's side
      for (let i = 0; i < 3; i++) {
        const deaf = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection({
            path,
            onread: { buffer: Buffer.alloc(16), callback: () => false },
          });
          s.once('connect', () => {
            s.pause();
            resolve(s);
          });
          s.once('error', reject);
        });
        await new Promise((r) => setTimeout(r, 100));
        deaf.destroy();
      }
      // locked out while the 16 silent clients are within the idle timeout
      const locked = run('n1', 'show', 'status');
      expect(locked.status).not.toBe(0);
      // ... and served once the daemon closed them (IDLE_TIMEOUT_MS, 5 s)
      await waitFor('silent clients closed', () => held.every((h) => h.destroyed || h.readableEnded), {
        timeoutMs: 15_000,
        intervalMs: 200,
      });
      expect(run('n1', 'show', 'status').status).toBe(0);
      expect(tableRoutes(mesh, 'n1')).toContain(ip.n2);
    } finally {
      for (const h of held) h.destroy();
    }
  }, 30_000);

  it('loop mode (-lc) repeats until interrupted', async () => {
    const p = spawn(
      process.execPath,
      ctlArgv([
        '--runtime-dir',
        join(mesh.node('n1').dir, 'run'),
        '--interval',
        '200',
        '-lc',
        'status',
        'links',
      ]),
    );
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    await waitFor('three rounds', () => (out.match(/STATUS:/g) ?? []).length >= 3 && /LINKS:/.test(out), {
      timeoutMs: 15_000,
    });
    p.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('runtime parameter changes, daemon refusals and usage errors', () => {
    expect(run('n1', 'get', 'ogmInterval').stdout).toMatch(/ogmInterval +5000 +\(6000\)/);
    expect(run('n1', '-c', 'ogmInterval=3000').status).toBe(0);
    expect(run('n1', 'get', 'ogmInterval').stdout).toMatch(/ogmInterval +3000 +\(6000\)/);
    expect(run('n1', '-c', 'ogmInterval=-').status).toBe(0);
    expect(run('n1', '-c', 'parameters').stdout).not.toMatch(/ogmInterval/);
    const refused = run('n1', '-c', 'dev=-eth9');
    expect(refused.status).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    const usage = run('n1', '-c', 'linkWindow=0');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/linkWindow/);
    expect(run('n1', '-c', 'runtimeDir=/x').status).toBe(2);
  });

  it('the reference plain-text protocol is answered on the same socket', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const s = net.createConnection(sockOf('n2'), () => s.write('show=status #'));
      let buf = '';
      s.on('data', (d) => {
        buf += d;
      });
      s.on('end', () => resolve(buf));
      s.on('error', reject);
    });
    expect(text).toMatch(/^STATUS:\n[\s\S]* n2 [\s\S]*\$$/);
  });

  it('the log stream (-cd3) shows changes as they happen', async () => {
    const p = spawn(process.execPath, ctlArgv(['--runtime-dir', join(mesh.node('n2').dir, 'run'), '-cd3']));
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    try {
      await waitFor(
        'subscribed',
        async () => {
          run('n2', '-c', 'txAvgInterval=900');
          return /applied option=txAvgInterval/.test(out);
        },
        { timeoutMs: 15_000, intervalMs: 500 },
      );
    } finally {
      p.kill('SIGINT');
    }
    run('n2', '-c', 'txAvgInterval=-');
  });

  it('1,000 malformed requests each get an error reply and the daemon keeps routing', async () => {
    const bad: (string | Buffer)[] = [];
    for (let i = 0; i < 1000; i++) {
      switch (i % 8) {
        case 0:
          bad.push('{not json\n');
          break;
        case 1:
          bad.push(`{"id":${i},"op":"frobnicate"}\n`);
          break;
        case 2:
          bad.push(`{"id":${i},"op":"show","args":{"table":"x y"}}\n`);
          break;
        case 3:
          bad.push(`{"id":${i},"op":"set","args":{"argv":["ogmInterval=1"]}}\n`);
          break;
        case 4:
          bad.push(`[1,2,3]\n`);
          break;
        case 5:
          bad.push(Buffer.from([0x7b, 0xff, 0xfe, 0x0a]));
          break;
        case 6:
          bad.push(`{"id":${i},"op":"show","args":{"table":"nosuchtable"}}\n`);
          break;
        default:
          bad.push(`{"id":${i},"op":"set","args":{"argv":["dev=-nope${i}"]}}\n`);
          break;
      }
    }
    bad.push(`{"id":"big","op":"show","args":{"table":"${'x'.repeat(70_000)}"}}\n`);
    const replies = await new Promise<{ ok: boolean }[]>((resolve, reject) => {
      const s = net.createConnection(sockOf('n1'), () => {
        s.write('{"id":"first","op":"version"}\n');
        for (const b of bad) s.write(b);
        s.end();
      });
      let buf = '';
      s.on('data', (d) => {
        buf += d;
      });
      s.on('end', () =>
        resolve(
          buf
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l)),
        ),
      );
      s.on('error', reject);
    });
    expect(replies).toHaveLength(1002);
    expect(replies[0]).toMatchObject({ ok: true });
    expect(replies.slice(1).every((r) => r.ok === false)).toBe(true);
    expect(tableRoutes(mesh, 'n1')).toContain(ip.n2);
    const ping = mesh.exec('n1', 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', ip.n2!]);
    expect(ping.status, ping.stdout).toBe(0);
    expect(run('n1', 'show', 'status').status).toBe(0);
  }, 30_000);

  it('SIGHUP reloads the config file', async () => {
    writeFileSync(join(mesh.node('n2').dir, 'bmx7d.conf'), 'ogmInterval=4000\nlinkWindow=40\n');
    const pid = Number(readFileSync(join(mesh.node('n2').dir, 'run', 'pid'), 'utf8'));
    process.kill(pid, 'SIGHUP');
    await waitFor('reloaded', () => /linkWindow +40 /.test(run('n2', 'parameters').stdout), {
      timeoutMs: 10_000,
      intervalMs: 300,
    });
    expect(run('n2', 'get', 'ogmInterval').stdout).toMatch(/ogmInterval +4000 /);
  });

  it('an interface that appears later is used; dev=-eth1 and dev=eth1 at runtime remove and restore it', async () => {
    const links = () => run('n1', '--json', 'show', 'links');
    const devsOfLinks = () => (JSON.parse(links().stdout).rows as { dev: string }[]).map((r) => r.dev).sort();
    expect(devsOfLinks()).toEqual(['eth1']);
    spawnSync('ip', [
      'link',
      'add',
      'eth5',
      'netns',
      mesh.node('n1').ns,
      'type',
      'veth',
      'peer',
      'name',
      'eth5',
      'netns',
      mesh.node('n2').ns,
    ]);
    for (const n of ['n1', 'n2']) mesh.execOk(n, 'ip', ['link', 'set', 'eth5', 'up']);
    await waitFor('links on eth1 and eth5', () => devsOfLinks().join() === 'eth1,eth5', {
      timeoutMs: 20_000,
      intervalMs: 500,
    });
    expect(mesh.execOk('n1', 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth5'])).toContain(`${ip.n1}/16`);

    expect(run('n1', '-c', 'dev=-eth1').status).toBe(0);
    await waitFor(
      'eth1 released',
      () => !mesh.execOk('n1', 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth1']).includes(ip.n1!),
      {
        timeoutMs: 10_000,
        intervalMs: 300,
      },
    );
    expect(
      (JSON.parse(run('n1', '--json', 'show', 'interfaces').stdout).rows as { dev: string }[]).map(
        (r) => r.dev,
      ),
    ).toEqual(['eth5']);
    expect(run('n1', '-c', 'dev=eth1').status).toBe(0);
    await waitFor(
      'eth1 back',
      () => mesh.execOk('n1', 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth1']).includes(ip.n1!),
      {
        timeoutMs: 10_000,
        intervalMs: 300,
      },
    );
    // a route through a removed interface is re-selected over the remaining one with the next OGMs
    await waitFor('n1 routes to n2 again', () => tableRoutes(mesh, 'n1').includes(ip.n2!), {
      timeoutMs: 20_000,
      intervalMs: 300,
    });
  }, 60_000);
});
