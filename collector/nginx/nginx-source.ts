/**
 * The agent's nginx source: one tailer per `--nginx-log PATH` feeding one aggregator for the
 * `--nginx-format`, sampled like the agent's other sources (`sample(ts)` returns the interval's
 * points). Lines too long to hand over are counted as malformed (`too_long`).
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { MetricPoint, Tags } from '../../core/model.ts';
import { createNginxAggregator, type NginxAggregator } from './aggregator.ts';
import { compileLogFormat } from './log-format.ts';
import { createTailer, type Tailer } from './tailer.ts';

export type NginxSourceOptions = {
  /** Access logs to follow (`--nginx-log`, several allowed). */
  paths: string[];
  /** `--nginx-format`: a name (`combined`, `platform`), a `log_format` directive or the format text. */
  format: string;
  /** Directory for the tailers' offsets; one small file per log. */
  stateDir: string;
  /** The agent's standard tags (`dc`, `cluster`, `host`). */
  tags: Tags;
  clock: Clock;
  logger: Logger;
  /** Tailer poll interval; default 1,000 ms. */
  pollMs?: number;
  /** Where a log with no saved offset is first read from; default `end`. */
  startAt?: 'start' | 'end';
};

export type NginxSource = {
  /** Starts following every log. (A format it cannot use throws a HubError when the source is made.) */
  start(): Promise<void>;
  /** The points of the interval since the previous sample (or since start). */
  sample(ts: number): Promise<MetricPoint[]>;
  /** Stops following; the offsets are saved. */
  stop(): Promise<void>;
  /** One poll of every log (tests; `start` polls on the clock). */
  poll(): Promise<void>;
  /** Totals and rejections since start, for the agent's own status. */
  aggregator: NginxAggregator;
};

/** The state file of one log: readable name plus a hash of the full path. */
export function statePathFor(stateDir: string, path: string): string {
  const hash = createHash('sha256').update(path).digest('hex').slice(0, 12);
  return join(stateDir, `nginx-${basename(path).replace(/[^A-Za-z0-9._-]/g, '_')}-${hash}.offset.json`);
}

export function createNginxSource(options: NginxSourceOptions): NginxSource {
  const aggregator = createNginxAggregator({ format: compileLogFormat(options.format), tags: options.tags });
  let tailers: Tailer[] = [];
  let last = options.clock.now();
  return {
    aggregator,
    async start() {
      await mkdir(options.stateDir, { recursive: true });
      tailers = options.paths.map((path) =>
        createTailer({
          path,
          statePath: statePathFor(options.stateDir, path),
          clock: options.clock,
          logger: options.logger,
          onText: (text) => aggregator.addText(text),
          onOversized: (bytes, head) =>
            aggregator.addMalformed('too_long', `line longer than ${bytes} bytes`, head),
          ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
          ...(options.startAt === undefined ? {} : { startAt: options.startAt }),
        }),
      );
      last = options.clock.now();
      await Promise.all(tailers.map((t) => t.start()));
    },
    async sample(ts) {
      const points = aggregator.flush(ts, Math.max(1, ts - last));
      last = ts;
      return points;
    },
    async stop() {
      await Promise.all(tailers.map((t) => t.stop()));
      tailers = [];
    },
    async poll() {
      await Promise.all(tailers.map((t) => t.poll()));
    },
  };
}
