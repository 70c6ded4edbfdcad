import { describe, expect, it } from 'vitest';
import { withLogIds } from './external-log-store.ts';
import { LOG_ID } from './log-ingest.ts';

describe('withLogIds', () => {
  const doc = (id?: string) => ({ ts: 1, source: 's', fields: {}, ...(id ? { [LOG_ID]: id } : {}) });

  it.each([
    ['sets the id of a record from the bus', [{ index: { _index: 'i' } }, doc('logs-0-7-1')], 'logs-0-7-1'],
    ['leaves a record without one to the engine', [{ index: { _index: 'i' } }, doc()], undefined],
    ['keeps an id already set', [{ index: { _index: 'i', _id: 'x' } }, doc('logs-0-7-1')], 'x'],
  ])('%s', (_name, operations, id) => {
    const out = withLogIds(operations as Record<string, unknown>[]);
    expect((out[0] as { index: { _id?: string } }).index._id).toBe(id);
    // The document itself is sent as it was: the symbol never reaches the JSON body.
    expect(JSON.stringify(out[1])).toBe(JSON.stringify(doc()));
  });
});
