/**
 * Send pacing as the reference does it (docs/protocol.md §4.1, §4.9, §4.12): the transmit bucket that
 * spaces send rounds, and `doNowOrLater`, the timer rule of its casual and own-OGM schedules.
 * Pure: time comes in as arguments.
 */

/** A timer of `doNowOrLater`: the next time it is due. */
export interface PhaseTimer {
  next: number;
}

/**
 * The reference's doNowOrLater: fires when `timer.next` is due (or more than one interval ahead,
 * a clock jump), or when forced. The next time keeps the phase (next + interval) when it fired
 * within one interval of being due, and restarts from now (now + interval) otherwise.
 */
export function doNowOrLater(timer: PhaseTimer, now: number, interval: number, force: boolean): boolean {
  const due = now >= timer.next || timer.next > now + interval;
  if (!due && !force) return false;
  timer.next = timer.next <= now && now < timer.next + interval ? timer.next + interval : now + interval;
  return true;
}

export interface TxBucketParams {
  txMinInterval: number;
  txAvgInterval: number;
  /** Rounds allowed above the average rate (txBucketSize). */
  txBucketSize: number;
  /** Drain speed in percent (txBucketDrain): 0 drains one coin per txAvgInterval, 100 per txMinInterval. */
  txBucketDrain: number;
}

/** The transmit bucket: coins (rounds that sent something) and when it was last updated. */
export interface TxBucket {
  coins: number;
  at: number;
}

export function newTxBucket(): TxBucket {
  return { coins: 0, at: 0 };
}

/**
 * One send round at `now`: drains the bucket for the time since the last round (at most
 * txAvgInterval), adds a coin when the round sent something, and returns the gap before the next
 * round before jitter: txMinInterval while the bucket holds fewer than txBucketSize coins,
 * txAvgInterval when it is full. With the defaults a coin drains in 562 ms.
 */
export function bucketRound(b: TxBucket, p: TxBucketParams, now: number, busy: boolean): number {
  const realMin = Math.min(p.txMinInterval, p.txAvgInterval);
  const drain = realMin + ((p.txAvgInterval - realMin) * (100 - p.txBucketDrain)) / 100;
  const elapsed = Math.min(Math.max(0, now - b.at), p.txAvgInterval);
  b.coins = Math.max(0, b.coins - elapsed / drain) + (busy ? 1 : 0);
  b.at = now;
  return b.coins < p.txBucketSize ? realMin : p.txAvgInterval;
}
