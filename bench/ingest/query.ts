/** Phase 3: a 1-hour `sum by app` range query, repeated: its latency once warm. */
import type http from 'node:http';
import { median, quantile } from '../stats.ts';
import { newAgent, request } from './http-client.ts';
import type { Instance } from './instances.ts';
import { log } from './log.ts';
import {
  EXPECTED_GROUPS,
  LABEL,
  QUERY_METRIC,
  QUERY_RUNS,
  QUERY_WARMUP,
  type SystemName,
} from './options.ts';

export type QueryResult = {
  runs: number;
  firstMs: number;
  medianMs: number;
  minMs: number;
  p90Ms: number;
  series: number;
  points: number;
  request: string;
};

type Answer = { ms: number; series: number; points: number };

const hubBody = JSON.stringify({
  start: '1h-ago',
  queries: [
    {
      metric: QUERY_METRIC,
      aggregator: 'sum',
      filters: [{ type: 'wildcard', tagk: 'app', filter: '*', groupBy: true }],
    },
  ],
});

const vmPath = () => {
  const now = Math.floor(Date.now() / 1000);
  const q = encodeURIComponent(`sum by (app) (${QUERY_METRIC})`);
  return `/api/v1/query_range?query=${q}&start=${now - 3600}&end=${now}&step=10s`;
};

export async function queryBench(inst: Instance): Promise<QueryResult> {
  const agent = newAgent();
  const first = await queryOnce(inst, agent);
  if (first.series !== EXPECTED_GROUPS)
    throw new Error(
      `${LABEL[inst.system]} answered ${first.series} series with points, not ${EXPECTED_GROUPS}`,
    );
  // Both systems answer the same untimed queries first: the steady state a dashboard sees, not
  // the hub's JIT compiling its query path.
  for (let i = 0; i < QUERY_WARMUP; i++) await queryOnce(inst, agent);
  const times: number[] = [];
  let last = first;
  for (let i = 0; i < QUERY_RUNS; i++) {
    last = await queryOnce(inst, agent);
    times.push(last.ms);
  }
  agent.destroy();
  const result: QueryResult = {
    runs: QUERY_RUNS,
    firstMs: first.ms,
    medianMs: median(times),
    minMs: Math.min(...times),
    p90Ms: quantile(times, 0.9),
    series: last.series,
    points: last.points,
    request: inst.system === 'hub' ? `POST /api/query ${hubBody}` : `GET ${decodeURIComponent(vmPath())}`,
  };
  log(
    `${LABEL[inst.system]} query: median ${result.medianMs.toFixed(1)} ms over ${QUERY_RUNS} runs after ${QUERY_WARMUP} untimed ` +
      `(first ${result.firstMs.toFixed(1)} ms), ${result.series} series, ${result.points} points`,
  );
  return result;
}

/** One query, timed, with the series and points it answered. */
async function queryOnce(inst: Instance, agent: http.Agent): Promise<Answer> {
  const t0 = performance.now();
  const r =
    inst.system === 'hub'
      ? await request(agent, inst.apiPort, 'POST', '/api/query', hubBody)
      : await request(agent, inst.apiPort, 'GET', vmPath());
  const ms = performance.now() - t0;
  const text = r.body.toString('utf8');
  if (r.status !== 200)
    throw new Error(`${LABEL[inst.system]} query answered ${r.status}: ${text.slice(0, 500)}`);
  return { ms, ...countAnswer(inst.system, JSON.parse(text)) };
}

/** Series with points, and points, in a query's answer (OpenTSDB's or Prometheus' shape). */
function countAnswer(system: SystemName, body: unknown): { series: number; points: number } {
  let series = 0;
  let points = 0;
  if (system === 'hub') {
    for (const s of body as { dps: Record<string, number> }[]) {
      const n = Object.keys(s.dps).length;
      if (n > 0) series++;
      points += n;
    }
  } else {
    for (const s of (body as { data: { result: { values: unknown[] }[] } }).data.result) {
      if (s.values.length > 0) series++;
      points += s.values.length;
    }
  }
  return { series, points };
}
