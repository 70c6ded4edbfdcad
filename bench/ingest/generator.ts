/** The load as the options make it, and how fast it is made with nothing to send it to. */
import { Load, type LoadFormat } from '../load.ts';
import { BATCH, HOURS, SEED } from './options.ts';

export type GeneratorResult = {
  format: LoadFormat;
  points: number;
  bytes: number;
  seconds: number;
  pointsPerSec: number;
};

export function newLoad(format: LoadFormat): Load {
  return new Load({
    seed: SEED,
    hours: HOURS,
    endSec: Math.floor(Date.now() / 1000),
    format,
    batchSize: BATCH,
  });
}

export function measureGenerator(format: LoadFormat): GeneratorResult {
  const load = newLoad(format);
  const t0 = performance.now();
  while (load.next());
  const seconds = (performance.now() - t0) / 1000;
  return { format, points: load.emitted, bytes: load.bytes, seconds, pointsPerSec: load.emitted / seconds };
}
