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
