/**
 * Serves the pages on real data of this machine without the hub: the host source samples every
 * two seconds, `/api/query` answers from the points kept in memory, the live push sends them on.
 * For trying the pages and for screenshots:
 *
 *   npx tsx test/ui/demo-server.ts [port]
 */
import { hostname } from 'node:os';
import { createHostSource } from '../../collector/host/host-source.ts';
import { systemClock } from '../../core/clock.ts';
import { createLogger } from '../../core/logger.ts';
import type { MetricPoint, PointColumns } from '../../core/model.ts';
import { columnsOf } from '../../pipeline/codec/point-columns.ts';
import { startPageServer } from './page-server.ts';

const KEEP_MS = 15 * 60_000;
const EVERY_MS = 2_000;

const logger = createLogger();
const source = createHostSource({ tags: { host: hostname() }, logger });
let kept: MetricPoint[] = [];
const listeners = new Set<(batch: PointColumns) => void>();

const server = await startPageServer({
  history: () => kept,
  subscribe: (l) => {
    listeners.add(l);
    return () => listeners.delete(l);
  },
  clock: systemClock,
  port: Number(process.argv[2] ?? 8077),
});

const tick = async () => {
  const now = systemClock.now();
  const points = await source.sample(now);
  kept = kept.filter((p) => p.ts >= now - KEEP_MS).concat(points);
  for (const l of listeners) l(columnsOf(points));
};
await tick();
const timer = setInterval(() => void tick(), EVERY_MS);
logger.info('Demo pages are up', { url: server.url });

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    clearInterval(timer);
    void server.close();
  });
