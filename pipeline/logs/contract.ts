/**
 * The contract every `LogStore` adapter passes: run `runLogStoreContract` from the adapter's test
 * file. Each case uses its own sources and words, so a shared engine can serve all of them.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../core/model.ts';
import type { LogStore } from '../../core/ports.ts';

export type LogStoreFixture = {
  store: LogStore;
  /** Closes the store and opens it again on the same data, when the adapter keeps data. */
  reopen?: () => Promise<LogStore>;
  cleanup(): Promise<void>;
};

/** Inside one UTC day: engines keep daily indices. */
const T0 = Date.UTC(2026, 0, 2, 10);
const hex = () => randomBytes(4).toString('hex');

export function runLogStoreContract(name: string, make: () => Promise<LogStoreFixture>): void {
  describe(`LogStore contract: ${name}`, () => {
    let fixture: LogStoreFixture;
    let store: LogStore;
    const window = { start: T0 - 60_000, end: T0 + 60_000, limit: 100 };

    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('finds the records of a source, newest first, at most `limit`', async () => {
      const source = `nginx-${hex()}`;
      const rs: LogRecord[] = [1, 3, 2].map((n) => ({ ts: T0 + n * 1000, source, fields: { n } }));
      await store.write([...rs, { ts: T0 + 5000, source: `${source}-other`, fields: { n: 9 } }]);
      expect(await store.search({ ...window, source })).toEqual([rs[1], rs[2], rs[0]]);
      expect(await store.search({ ...window, source, limit: 2 })).toEqual([rs[1], rs[2]]);
      expect(await store.search({ ...window, source, limit: 0 })).toEqual([]);
      expect(await store.search({ ...window, source: `nobody-${hex()}` })).toEqual([]);
    });

    it('gives a record back as written: nested fields, the raw line', async () => {
      const source = `app-${hex()}`;
      const r: LogRecord = {
        ts: T0,
        source,
        fields: { level: 'warn', took: 12.5, ok: false, req: { path: '/x', ids: [1, 2] } },
        raw: 'warn took=12.5 path=/x',
      };
      await store.write([r]);
      expect(await store.search({ ...window, source })).toEqual([r]);
    });

    it('finds whole words of the raw line or of the field values, every word, any case', async () => {
      const word = `w${hex()}`;
      const source = `mix-${hex()}`;
      const rs: LogRecord[] = [
        { ts: T0 + 1, source, fields: {}, raw: `upstream ${word} timed out while reading` },
        { ts: T0 + 2, source, fields: { path: `/api/${word}/orders`, status: 502 } },
        { ts: T0 + 3, source: `${source}-b`, fields: { msg: `${word.toUpperCase()} login ok` } },
      ];
      await store.write(rs);
      expect(await store.search({ ...window, text: word })).toEqual([rs[2], rs[1], rs[0]]);
      expect(await store.search({ ...window, text: `${word} timed` })).toEqual([rs[0]]);
      expect(await store.search({ ...window, text: `orders ${word}`, source })).toEqual([rs[1]]);
      expect(await store.search({ ...window, text: `${word} 502` })).toEqual([rs[1]]);
      expect(await store.search({ ...window, text: `${word} nowhere${hex()}` })).toEqual([]);
      // Whole words: a part of a word finds nothing.
      expect(await store.search({ ...window, text: word.slice(0, 5) })).toEqual([]);
    });

    it('keeps to the time range, both ends included', async () => {
      const source = `time-${hex()}`;
      const rs: LogRecord[] = [0, 1000, 2000, 3000].map((d) => ({ ts: T0 + d, source, fields: { d } }));
      await store.write(rs);
      expect(await store.search({ source, start: T0 + 1000, end: T0 + 2000, limit: 10 })).toEqual([
        rs[2],
        rs[1],
      ]);
      expect(await store.search({ source, start: T0 + 3001, end: T0 + 9000, limit: 10 })).toEqual([]);
    });

    it('keeps records across a reopen', async () => {
      if (!fixture.reopen) return;
      const source = `keep-${hex()}`;
      const r: LogRecord = { ts: T0, source, fields: { a: 'b' } };
      await store.write([r]);
      store = await fixture.reopen();
      expect(await store.search({ ...window, source })).toEqual([r]);
    });
  });
}
