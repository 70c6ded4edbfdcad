/** Pieces every DuckDB file of the embedded stores needs. */
import { stat } from 'node:fs/promises';

/** Bytes a DuckDB database keeps on disk: the file and its write-ahead log. */
export async function duckFileBytes(path: string): Promise<number> {
  let total = 0;
  for (const p of [path, path + '.wal'])
    total += await stat(p).then(
      (s) => s.size,
      () => 0,
    );
  return total;
}

/** Runs tasks one after another (one transaction at a time on a writer connection). */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** Lends each read one of a few reader connections; a read finding them all out waits its turn. */
export class ReaderPool<R> {
  private readonly waiting: ((r: R) => void)[] = [];

  constructor(private readonly idle: R[]) {}

  /** The readers not lent out: all of them once no read is running. */
  get free(): readonly R[] {
    return this.idle;
  }

  async use<T>(fn: (r: R) => Promise<T>): Promise<T> {
    const r = this.idle.pop() ?? (await new Promise<R>((res) => this.waiting.push(res)));
    try {
      return await fn(r);
    } finally {
      const w = this.waiting.shift();
      if (w) w(r);
      else this.idle.push(r);
    }
  }
}
