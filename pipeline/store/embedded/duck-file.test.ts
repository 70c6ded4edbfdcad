import { describe, expect, it } from 'vitest';
import { ReaderPool } from './duck-file.ts';

describe('reader pool', () => {
  it('lends each reader to one read at a time; the others wait and all finish', async () => {
    const pool = new ReaderPool(['a', 'b']);
    const busy = new Set<string>();
    let most = 0;
    const read = (n: number) =>
      pool.use(async (r) => {
        expect(busy.has(r)).toBe(false);
        busy.add(r);
        most = Math.max(most, busy.size);
        await new Promise((res) => setTimeout(res, 5 + (n % 3)));
        busy.delete(r);
        return n;
      });
    expect(await Promise.all([1, 2, 3, 4, 5, 6].map(read))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(most).toBe(2);
    expect([...pool.free].sort()).toEqual(['a', 'b']);
  });

  it('takes a reader back from a read that failed', async () => {
    const pool = new ReaderPool(['only']);
    await expect(pool.use(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await pool.use(async (r) => r)).toBe('only');
  });
});
