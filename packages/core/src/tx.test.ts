import { describe, expect, it } from 'vitest';
import { TxQueue, type TxTask } from './tx.js';

function task(type: number, key: string, produce: TxTask['produce'] = () => undefined): TxTask {
  return { type, ifname: 'wlan0', group: undefined, key, tries: 1, interval: 0, due: 0, produce };
}

describe('TxQueue', () => {
  it('refuses tasks beyond the per-interface cap, and counts them (maxTxTaskTreeSize)', () => {
    const q = new TxQueue(200);
    for (let i = 0; i < 250; i++) q.add(task(30, `c${i}`));
    expect(q.queued('wlan0')).toBe(200);
    expect(q.refused).toBe(50);
    // another interface has its own cap
    q.add({ ...task(30, 'x'), ifname: 'eth0' });
    expect(q.queued('eth0')).toBe(1);
  });

  it('link sensing is never refused: HELLO and HELLO_REPLY pass a full queue', () => {
    const q = new TxQueue(200);
    for (let i = 0; i < 200; i++) q.add(task(30, `c${i}`));
    let sqn = 7;
    const hello = task(12, 'hello', () => ({ kind: 'frame', frame: { type: 12, helloSqn: ++sqn } }));
    q.add(hello);
    q.add(task(13, 'link1'));
    expect(q.queued('wlan0')).toBe(202);
    expect(q.refused).toBe(0);
    const out = q.takeDue(0).get('wlan0') ?? [];
    expect(out.map((x) => x.msg)).toContainEqual({ kind: 'frame', frame: { type: 12, helloSqn: 8 } });
    expect(q.queued('wlan0')).toBe(0);
  });

  it('an identical pending task is refreshed, not queued twice', () => {
    const q = new TxQueue(200);
    q.add({ ...task(29, 'd'), due: 50 });
    q.add({ ...task(29, 'd'), due: 10, tries: 3 });
    expect(q.queued('wlan0')).toBe(1);
    expect(q.nextDue()).toBe(10);
  });
});
