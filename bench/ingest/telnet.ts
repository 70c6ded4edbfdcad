/** Phase 4: the load as telnet `put` lines over TCP connections, until the server accepted every point. */
import { once } from 'node:events';
import type http from 'node:http';
import net from 'node:net';
import type { Load } from '../load.ts';
import { newLoad } from './generator.ts';
import { newAgent, scrape } from './http-client.ts';
import type { Instance } from './instances.ts';
import { log } from './log.ts';
import { type CpuMark, type CpuUse, cpuMark, cpuUse, peakRss, type Rates, si, withRates } from './measure.ts';
import { CONNECTIONS, LABEL } from './options.ts';
import { progress, STORED_SAMPLE, waitForCount, waitForStored } from './progress.ts';

export type TelnetResult = {
  points: number;
  bytesSent: number;
  sentSeconds: number;
  accepted: CpuUse & Rates;
  stored?: CpuUse & Rates;
  /** Hub: why the store never got every point, and how many it got. */
  storedError?: string;
  storedPoints?: number;
  counter: string;
  peakRssBytes?: number;
};

/** Points the server counted as accepted, and points written to the sockets, so far. */
type Counts = { accepted: number; sent: number };

export async function telnetIngest(inst: Instance): Promise<TelnetResult> {
  const load = newLoad('telnet');
  const label = `${LABEL[inst.system]} telnet`;
  const metricsAgent = newAgent();
  const counter =
    inst.system === 'hub'
      ? 'obs_points_accepted_total{protocol="telnet"}'
      : 'vm_rows_inserted_total{type="opentsdb"}';
  const readCount = () => scrape(metricsAgent, inst.apiPort, counter);
  const counts: Counts = { accepted: 0, sent: 0 };
  const sockets = await openSockets(inst.telnetPort, label);
  const errors: Error[] = [];
  for (const s of sockets) s.on('error', (e) => errors.push(e));
  const stopProgress = progress(
    label,
    load.totalPoints,
    () => counts.accepted,
    async () => {
      counts.accepted = await readCount();
      return `, sent ${si(counts.sent)}`;
    },
  );
  const start = await cpuMark(inst.pid);
  let sentSeconds = 0;
  try {
    await writeLines(sockets, load, errors, counts);
    sentSeconds = (performance.now() - start.at) / 1000;
    log(`${label}: all lines written after ${sentSeconds.toFixed(1)} s`);
    await waitForCount(
      inst,
      async () => {
        counts.accepted = await readCount();
        return counts.accepted;
      },
      load.totalPoints,
      50,
    );
  } finally {
    stopProgress();
  }
  const acceptedUse = cpuUse(start, await cpuMark(inst.pid));
  const result: TelnetResult = {
    points: load.emitted,
    bytesSent: load.bytes,
    sentSeconds,
    accepted: withRates(acceptedUse, load.emitted),
    counter,
  };
  log(
    `${label}: every point accepted after ${acceptedUse.seconds.toFixed(1)} s: ${si(result.accepted.pointsPerSec)} points/s`,
  );
  if (inst.system === 'hub') await storedOrWhyNot(inst, load, label, metricsAgent, start, result);
  result.peakRssBytes = await peakRss(inst.pid);
  for (const s of sockets) s.destroy();
  metricsAgent.destroy();
  return result;
}

/** CONNECTIONS connections to the telnet port; whatever the server says on them is logged. */
function openSockets(port: number, label: string): Promise<net.Socket[]> {
  return Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const s = net.connect(port, '127.0.0.1');
      await once(s, 'connect');
      s.setNoDelay(true);
      s.on('data', (d: Buffer) => log(`${label} server said: ${d.toString('utf8').slice(0, 300).trim()}`));
      return s;
    }),
  );
}

/** The whole load, each socket writing the next batch as it drains, then ending. */
async function writeLines(sockets: net.Socket[], load: Load, errors: Error[], counts: Counts): Promise<void> {
  await Promise.all(
    sockets.map(async (s) => {
      for (;;) {
        if (errors.length > 0) throw errors[0];
        const b = load.next();
        if (!b) break;
        counts.sent += b.points;
        if (!s.write(b.body)) await once(s, 'drain');
      }
      s.end();
    }),
  );
}

/**
 * Hub only: waits until its store holds every point too, into `result.stored`; or records in
 * `result` why it never did and how many it got.
 */
async function storedOrWhyNot(
  inst: Instance,
  load: Load,
  label: string,
  metricsAgent: http.Agent,
  start: CpuMark,
  result: TelnetResult,
): Promise<void> {
  try {
    result.stored = await waitForStored(inst, load, label, metricsAgent, start);
  } catch (e) {
    result.storedError = (e as Error).message;
    result.storedPoints = await scrape(metricsAgent, inst.apiPort, STORED_SAMPLE).catch(() => -1);
    log(`${label}: not every point was stored: ${result.storedError}`);
  }
}
