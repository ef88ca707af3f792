/**
 * bmx7-testbed from the command line, as root: `up` tells which daemons died, with the end of
 * their logs, and gives up once every one has; `down` removes the wireguard-go sockets of the
 * mesh's devices that nobody serves (wireguard-go's UAPI directory is one per machine), whether the
 * mesh's owner tears it down or was killed before it could, and leaves every other socket alone.
 *
 *   n1 [eth1] ──veth── [eth1] n2        line:2, a wireguard-go device in each node
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeNetns, wireguardGoPath } from '@bmx7/testenv/env';
import { UAPI_DIR, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const NODE_ARGS = ['--import', 'tsx', '--conditions=@bmx7/source', CLI];

describeNetns('bmx7-testbed up and down', () => {
  const state = mkdtempSync(join(tmpdir(), 'bmx7-testbed-state-'));
  const env = { ...process.env, BMX7_TESTBED_STATE: state };
  /** Device names of this run: machine-wide, so unique to it. */
  const prefix = `Tb${(process.pid % 46656).toString(36)}`;
  const owners: ChildProcess[] = [];
  const workDirs = new Set<string>();
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [...NODE_ARGS, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  const ours = () => (existsSync(UAPI_DIR) ? readdirSync(UAPI_DIR).filter((f) => f.startsWith(prefix)) : []);
  const wgGo = () =>
    spawnSync('pgrep', ['-f', `wireguard-go -f ${prefix}`], { encoding: 'utf8' }).stdout.trim();
  const namespacesOf = (out: string) => [...out.matchAll(/ ns=(\S+)/g)].map((m) => m[1] as string);
  const stateOf = (name: string) =>
    JSON.parse(readFileSync(join(state, `${name}.json`), 'utf8')) as {
      pid: number;
      nodes: { dir: string }[];
    };

  /** `up` in the background, until the sockets of both nodes' wireguard-go are there. */
  const upWithWireguard = async (name: string) => {
    const p = spawn(
      process.execPath,
      [...NODE_ARGS, 'up', 'line:2', '--name', name, '--daemon', `wireguard-go -f ${prefix}{node}`],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    owners.push(p);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    for (const n of ['n1', 'n2'])
      await waitFor(`${name}: ${n}'s socket`, () => existsSync(join(UAPI_DIR, `${prefix}${n}.sock`)), {
        timeoutMs: 30_000,
      });
    for (const n of stateOf(name).nodes) workDirs.add(dirname(n.dir));
    return { owner: p, out: () => out };
  };

  beforeAll(async () => {
    if (!wireguardGoPath()) throw new Error('wireguard-go is not installed (apt-get install wireguard-go)');
    // a socket of this run that is no device of a mesh, served by nobody: down must leave it
    mkdirSync(UAPI_DIR, { recursive: true });
    const stray = spawn(process.execPath, [
      '-e',
      "require('node:net').createServer().listen(process.argv[1], () => console.log('up'))",
      join(UAPI_DIR, `${prefix}zz.sock`),
    ]);
    await new Promise<void>((resolve) => stray.stdout.once('data', () => resolve()));
    stray.kill('SIGKILL');
    await new Promise<void>((resolve) => stray.once('exit', () => resolve()));
  });

  afterAll(() => {
    for (const o of owners) if (o.exitCode === null && o.signalCode === null) o.kill('SIGKILL');
    for (const f of existsSync(state) ? readdirSync(state) : []) cli('down', f.replace(/\.json$/, ''));
    spawnSync('pkill', ['-9', '-f', `wireguard-go -f ${prefix}`]);
    for (const f of ours()) rmSync(join(UAPI_DIR, f), { force: true });
    for (const d of workDirs) rmSync(d, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });

  it('up names every daemon that died with the end of its log, and exits 1 once all have, leaving nothing', () => {
    const r = cli('up', 'line:2', '--name', `${prefix}dead`, '--daemon', 'ls /nonexistent-{node}');
    expect(r.status).toBe(1);
    for (const n of ['n1', 'n2']) {
      expect(r.stderr).toMatch(
        new RegExp(
          `${n}'s daemon exited with status 2; the end of its log \\(\\S+/${n}/daemon\\.log\\):\\n  ls: cannot access '/nonexistent-${n}'`,
        ),
      );
    }
    expect(r.stderr).toMatch(/every daemon died \((n1, n2|n2, n1)\); mesh \S+dead torn down\n$/);
    const namespaces = namespacesOf(r.stdout);
    expect(namespaces).toHaveLength(2);
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    for (const ns of namespaces) expect(left).not.toContain(ns);
    expect(existsSync(join(state, `${prefix}dead.json`))).toBe(false);
  });

  it('down removes the sockets of the mesh devices nobody serves, from a running owner and after a killed one', async () => {
    // the owner tears down: its wireguard-go go, and their sockets with them
    const a = await upWithWireguard(`${prefix}a`);
    const exited = new Promise((resolve) => a.owner.once('exit', resolve));
    expect(cli('down', `${prefix}a`).status).toBe(0);
    await exited;
    expect(ours()).toEqual([`${prefix}zz.sock`]);
    expect(wgGo()).toBe('');

    // the owner was killed: down cleans up what it left, naming the sockets it removed
    const b = await upWithWireguard(`${prefix}b`);
    b.owner.kill('SIGKILL');
    await new Promise((resolve) => b.owner.once('exit', resolve));
    expect(wgGo()).not.toBe('');
    const r = cli('down', `${prefix}b`);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(
      ['n1', 'n2'].map((n) => `removed ${join(UAPI_DIR, `${prefix}${n}.sock`)}`),
    );
    expect(ours()).toEqual([`${prefix}zz.sock`]);
    expect(wgGo()).toBe('');
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    for (const ns of namespacesOf(b.out())) expect(left).not.toContain(ns);
  });
});
