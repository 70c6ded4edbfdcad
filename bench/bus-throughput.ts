/**
 * Rough throughput of the embedded bus (a quick local figure, not a test):
 * 4 concurrent callers publish 1 MB batches of small records, then one group reads them all.
 * Usage: npx tsx bench/bus-throughput.ts [records per batch=5000] [batches per caller=25] [dir]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BusMessage } from '../core/ports.ts';
import { createEmbeddedBus } from '../pipeline/bus/embedded/embedded-bus.ts';

const perBatch = Number(process.argv[2] ?? 5000);
const batchesPerCaller = Number(process.argv[3] ?? 25);
const base = process.argv[4] ?? tmpdir();
const callers = 4;
const batchBytes = 1024 * 1024;
const valueBytes = Math.floor(batchBytes / perBatch) - 20;

const dir = await mkdtemp(join(base, 'obs-bus-bench-'));
const bus = await createEmbeddedBus({ dir });
const value = Buffer.alloc(valueBytes, 'x');
const batch = (caller: number): BusMessage[] =>
  Array.from({ length: perBatch }, (_, i) => ({ key: `series-${caller}-${i % 100}`, value }));

const t0 = performance.now();
await Promise.all(
  Array.from({ length: callers }, async (_, caller) => {
    for (let n = 0; n < batchesPerCaller; n++) await bus.publish('bench', batch(caller));
  }),
);
const publishMs = performance.now() - t0;
const total = callers * batchesPerCaller * perBatch;
const [stats] = await bus.stats();

const t1 = performance.now();
let read = 0;
await new Promise<void>((resolve) => {
  void bus.subscribe({
    topic: 'bench',
    group: 'reader',
    onBatch: async (records) => {
      read += records.length;
      if (read >= total) resolve();
    },
  });
});
const readMs = performance.now() - t1;
await bus.close();
await rm(dir, { recursive: true, force: true });

const mb = stats!.bytes / 1e6;
process.stdout.write(
  [
    `dir ${base}, ${callers} callers x ${batchesPerCaller} batches x ${perBatch} records of ${valueBytes} B values`,
    `publish: ${total} records, ${mb.toFixed(0)} MB on disk in ${(publishMs / 1000).toFixed(2)} s = ` +
      `${Math.round(total / (publishMs / 1000))} records/s, ${(mb / (publishMs / 1000)).toFixed(0)} MB/s`,
    `consume (4 MiB batches, commit per batch): ${Math.round(read / (readMs / 1000))} records/s`,
    '',
  ].join('\n'),
);
