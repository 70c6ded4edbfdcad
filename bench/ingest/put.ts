/** Phase 1: the load as OpenTSDB `POST /api/put` batches over keep-alive connections. */
import type http from 'node:http';
import type { Batch, Load } from '../load.ts';
import { newLoad } from './generator.ts';
import { newAgent, request, scrape } from './http-client.ts';
import type { Instance } from './instances.ts';
import { log } from './log.ts';
import { type CpuUse, cpuMark, cpuUse, peakRss, type Rates, si, withRates } from './measure.ts';
import { CONNECTIONS, LABEL } from './options.ts';
import { progress, STORED_SAMPLE, waitForStored } from './progress.ts';

export type PutResult = {
  points: number;
  batches: number;
  bytesSent: number;
  ack: CpuUse & Rates;
  stored?: CpuUse & Rates;
  peakRssBytes?: number;
};

/** Points acknowledged so far, and in how many batches. */
type Sent = { acked: number; batches: number };

export async function httpIngest(inst: Instance): Promise<PutResult> {
  const load = newLoad('json');
  const agent = newAgent();
  const label = `${LABEL[inst.system]} /api/put`;
  const metricsAgent = newAgent();
  const sent: Sent = { acked: 0, batches: 0 };
  const stopProgress = progress(
    label,
    load.totalPoints,
    () => sent.acked,
    inst.system === 'hub'
      ? async () => `, stored ${si(await scrape(metricsAgent, inst.apiPort, STORED_SAMPLE))}`
      : undefined,
  );
  const start = await cpuMark(inst.pid);
  try {
    await Promise.all(Array.from({ length: CONNECTIONS }, () => postBatches(inst, load, agent, label, sent)));
  } finally {
    stopProgress();
  }
  const ackMark = await cpuMark(inst.pid);
  const ackUse = cpuUse(start, ackMark);
  const result: PutResult = {
    points: load.emitted,
    batches: sent.batches,
    bytesSent: load.bytes,
    ack: withRates(ackUse, load.emitted),
  };
  log(
    `${label}: last batch acknowledged after ${ackUse.seconds.toFixed(1)} s: ${si(result.ack.pointsPerSec)} points/s`,
  );
  if (inst.system === 'hub') result.stored = await waitForStored(inst, load, label, metricsAgent, start);
  result.peakRssBytes = await peakRss(inst.pid);
  agent.destroy();
  metricsAgent.destroy();
  return result;
}

/** One connection's share: posts the load's next batch until there is none. */
async function postBatches(inst: Instance, load: Load, agent: http.Agent, label: string, sent: Sent) {
  for (;;) {
    const b: Batch | undefined = load.next();
    if (!b) return;
    const r = await request(agent, inst.putPort, 'POST', '/api/put', b.body);
    if (r.status !== 204 && r.status !== 200)
      throw new Error(`${label} answered ${r.status}: ${r.body.toString('utf8').slice(0, 500)}`);
    sent.acked += b.points;
    sent.batches++;
  }
}
