import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clearLeftovers, processesIn, socketServed } from './leftovers.js';
import { waitFor } from './netns.js';

/** A socket file nobody serves: a process listened on it and was killed (as wireguard-go is). */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, [
    '-e',
    "require('node:net').createServer().listen(process.argv[1], () => console.log('up'))",
    path,
  ]);
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

describe('leftovers of a bed', () => {
  let dir: string | undefined;
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const c of closers.splice(0)) c();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("removes the sockets of the bed's devices that nobody serves, and no other", async () => {
    dir = mkdtempSync(join(tmpdir(), 'bmx7-uapi-'));
    await staleSocket(join(dir, 'X9wgIn.sock'));
    await staleSocket(join(dir, 'other.sock'));
    const server = createServer().listen(join(dir, 'X9wg_1234ABCD.sock'));
    closers.push(() => server.close());
    await waitFor('listening', () => server.listening);

    expect(socketServed(join(dir, 'X9wgIn.sock'))).toBe(false);
    expect(socketServed(join(dir, 'X9wg_1234ABCD.sock'))).toBe(true);
    expect(socketServed(join(dir, 'missing.sock'))).toBe(false);

    const removed = clearLeftovers(
      { netns: new Set(), devices: new Set(['X9wgIn', 'X9wg_1234ABCD', 'eth1', 'lo']) },
      dir,
    );
    expect(removed).toEqual([join(dir, 'X9wgIn.sock')]);
    expect(existsSync(join(dir, 'X9wgIn.sock'))).toBe(false);
    // served, and not the bed's: both stay
    expect(existsSync(join(dir, 'X9wg_1234ABCD.sock'))).toBe(true);
    expect(existsSync(join(dir, 'other.sock'))).toBe(true);
  });

  it('finds no process in no namespace, and none of a namespace that does not exist', () => {
    expect(processesIn(new Set())).toEqual([]);
    expect(processesIn(new Set(['net:[1]']))).toEqual([]);
    expect(clearLeftovers({ netns: new Set(), devices: new Set(['x']) }, '/nonexistent-uapi-dir')).toEqual(
      [],
    );
  });
});
