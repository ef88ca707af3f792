/** The storage port's in-memory twin: survives engine restarts in the simulator, like a file would. */
import type { StoragePort } from '@bmx7/core';

export interface MemoryStorage extends StoragePort {
  /** The stored descSqn, or undefined. */
  readonly descSqn: number | undefined;
  /** Every value saved, in order. */
  readonly writes: readonly number[];
}

export function createMemoryStorage(initial: { descSqn?: number } = {}): MemoryStorage {
  let descSqn = initial.descSqn;
  const writes: number[] = [];
  return {
    loadDescSqn: () => descSqn,
    saveDescSqn(value) {
      descSqn = value;
      writes.push(value);
    },
    get descSqn() {
      return descSqn;
    },
    writes,
  };
}
