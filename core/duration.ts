import { HubError } from './errors.ts';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  n: 2_592_000_000,
  y: 31_536_000_000,
};

/** Parses `500ms`, `10s`, `1m`, `2h`, `15d`, `1w`, `1n` (30 days), `1y` into milliseconds. */
export function parseDuration(text: string, field = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|n|y)$/.exec(text.trim());
  if (!m)
    throw new HubError(
      'BAD_REQUEST',
      `Invalid ${field} "${text}": expected a number and a unit (ms s m h d w n y)`,
      { where: field },
    );
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  if (!Number.isFinite(ms)) throw new HubError('BAD_REQUEST', `Invalid ${field} "${text}"`, { where: field });
  return Math.round(ms);
}

/** Formats milliseconds as the shortest exact duration string. */
export function formatDuration(ms: number): string {
  for (const unit of ['y', 'w', 'd', 'h', 'm', 's'] as const) {
    const size = UNITS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
