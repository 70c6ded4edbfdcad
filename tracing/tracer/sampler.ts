/**
 * Head sampling: decided once, where a trace starts, and carried with the context (`X-B3-Sampled`)
 * so every hop keeps or drops the same traces.
 */
import { HubError } from '../../core/errors.ts';

export type Sampler = {
  /** For logs and `/metrics`: `always`, `never`, `probability(0.1)`. */
  readonly description: string;
  /** Whether a new trace with this id is recorded. */
  shouldSample(traceId: string): boolean;
};

/** How configuration names a sampler. */
export type SamplerSpec = 'always' | 'never' | { probability: number };

export const alwaysSample: Sampler = { description: 'always', shouldSample: () => true };
export const neverSample: Sampler = { description: 'never', shouldSample: () => false };

/**
 * Keeps `rate` of the traces. The decision is a function of the trace id (its low 52 bits), so
 * services that each decide for a context without a decision still agree with one another.
 */
export function probabilitySampler(rate: number): Sampler {
  if (!Number.isFinite(rate) || rate < 0 || rate > 1)
    throw new HubError('INVALID_CONFIG', `Sampling probability must be between 0 and 1, got ${rate}`, {
      where: 'sampler.probability',
    });
  const bound = rate * 2 ** 52;
  return {
    description: `probability(${rate})`,
    shouldSample: (traceId) => Number.parseInt(traceId.slice(-13), 16) < bound,
  };
}

export function createSampler(spec: SamplerSpec | Sampler): Sampler {
  if (spec === 'always') return alwaysSample;
  if (spec === 'never') return neverSample;
  if ('shouldSample' in spec) return spec;
  return probabilitySampler(spec.probability);
}
