import { spawnSync } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { describeNetns } from './env.js';
import { createNetnsBed } from './netns.js';

describeNetns('netns bed', () => {
  const bed = createNetnsBed('tk');
  afterAll(() => bed.cleanup());

  it('joins two namespaces with veth, runs commands in them, and removes everything on cleanup', () => {
    const a = bed.ns('a');
    const b = bed.ns('b');
    const [va, vb] = bed.veth(a, b);
    bed.execOk(a, 'ip', ['addr', 'add', 'fd7e:1::1/64', 'dev', va, 'nodad']);
    bed.execOk(b, 'ip', ['addr', 'add', 'fd7e:1::2/64', 'dev', vb, 'nodad']);
    expect(bed.execOk(a, 'ping', ['-6', '-c', '1', '-W', '2', 'fd7e:1::2'])).toMatch(/1 received/);

    const sleeper = bed.spawn(b, 'sleep', ['60']);
    bed.cleanup();
    const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    expect(listed).not.toContain(a);
    expect(listed).not.toContain(b);
    expect(sleeper.killed || sleeper.signalCode !== null).toBe(true);
  });
});
