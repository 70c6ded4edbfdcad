/**
 * The ingest → webhook delay of `npm run bench:rules`, through a real hub process:
 * `node bin/obs.mjs hub --no-agent --rules DIR --config F` with the workload's rules, its
 * notification pipeline routing every alert to a webhook receiver in this process. Points go in
 * through HTTP `/api/put`, as an agent's would.
 *
 * The route groups by every label (`group_by: ['...']`) with `group_wait: 0s`: each alert is its
 * own group and is sent as soon as the engine hands it over. With Alertmanager's defaults
 * (group_wait 30 s, and a new alert of an already-notified group waiting for group_interval,
 * 5 m) the timers, not the engine, would be measured.
 *
 * After the history is loaded and the first burst of alerts has been sent, for `seconds`: every
 * second a tenth of the series gets a fresh point, and a few trigger series (at 40 so far) get 99
 * in a put of their own; the delay runs from that put's 2xx to the webhook POST that carries
 * the trigger's alert, firing.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { type ChildHub, spawnHub, stopHub } from '../../test/hub-process.ts';
import { hubRules, isTrigger, ruleName, seriesOf, tagsOf, type Values, type Workload } from './workload.ts';

export type DelayResult = {
  sent: number;
  /** Put 2xx → webhook POST, ms. */
  delays: number[];
  /** Of each delay, the part after the evaluation that fired the alert (its `startsAt`), ms. */
  afterEvaluation: number[];
  missing: number;
  warmupSeconds: number;
};

type Put = { metric: string; tags: Record<string, string>; timestamp: number; value: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Points of series `from` to `to`; `skipTriggers`: a regular point must not undo a pushed trigger. */
function putsOf(
  w: Workload,
  values: Float64Array,
  ts: number,
  from: number,
  to: number,
  skipTriggers = false,
): Put[] {
  const out: Put[] = [];
  for (let i = from; i < to; i++) {
    if (skipTriggers && isTrigger(i)) continue;
    const { m, a, h } = seriesOf(w, i);
    out.push({ metric: `bench.m${m}`, tags: tagsOf(a, h), timestamp: ts, value: values[i]! });
  }
  return out;
}

/** Posts points in requests of 10,000; throws unless every one is taken (204). */
async function put(url: string, points: Put[]): Promise<void> {
  for (let i = 0; i < points.length; i += 10_000) {
    const res = await fetch(`${url}api/put`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(points.slice(i, i + 10_000)),
    });
    if (res.status >= 300) throw new Error(`/api/put answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  }
}

type Receiver = { url: string; server: Server; received: () => number };

type Arrival = { now: number; wall: number; startsAt: number };

/** A webhook receiver that calls `onFiring` with the key of each firing alert, on arrival. */
async function startReceiver(onFiring: (key: string, at: Arrival) => void): Promise<Receiver> {
  let received = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const now = performance.now();
      const wall = Date.now();
      received++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        alerts: { status: string; labels: Record<string, string>; startsAt: string }[];
      };
      for (const a of body.alerts) {
        if (a.status !== 'firing') continue;
        const key = `${a.labels['alertname']}|${a.labels['app']}|${a.labels['host']}`;
        onFiring(key, { now, wall, startsAt: Date.parse(a.startsAt) });
      }
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/hook`, server, received: () => received };
}

async function startHubProcess(dir: string, log: (l: string) => void): Promise<ChildHub> {
  // BENCH_HUB_CPU_PROF=DIR: the hub process writes a CPU profile there (where the delay goes).
  const profile = process.env['BENCH_HUB_CPU_PROF'];
  const hub = await spawnHub(
    join(dir, 'data'),
    ['--no-agent', '--rules', join(dir, 'rules'), '--config', join(dir, 'hub.json')],
    { nodeArgs: profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [], startTimeoutMs: 120_000 },
  );
  log(`hub process ${hub.child.pid} at ${hub.url}`);
  return hub;
}

/** Waits until no webhook has arrived for `quietMs` (the first burst of alerts is over). */
async function settle(receiver: Receiver, quietMs: number, maxMs: number): Promise<void> {
  const end = Date.now() + maxMs;
  let last = receiver.received();
  let since = Date.now();
  while (Date.now() < end && Date.now() - since < quietMs) {
    await sleep(250);
    if (receiver.received() !== last) {
      last = receiver.received();
      since = Date.now();
    }
  }
}

export async function measureHubDelay(
  w: Workload,
  gen: Values,
  dir: string,
  seconds: number,
  log: (l: string) => void,
): Promise<DelayResult> {
  // Put's 2xx time by trigger key; NaN while the put is in flight (its webhook may come first).
  const pending = new Map<string, number>();
  const early = new Map<string, number>();
  const delays: number[] = [];
  const afterEvaluation: number[] = [];
  const receiver = await startReceiver((key, arrival) => {
    const at = pending.get(key);
    if (at === undefined) return;
    afterEvaluation.push(arrival.wall - arrival.startsAt);
    if (Number.isNaN(at)) early.set(key, arrival.now);
    else delays.push(arrival.now - at);
    pending.delete(key);
  });
  await mkdir(join(dir, 'rules'), { recursive: true });
  await writeFile(join(dir, 'rules', 'bench.yaml'), hubRules(w));
  const route = { receiver: 'bench', group_by: ['...'], group_wait: '0s', group_interval: '5m' };
  const notify = { route, receivers: [{ name: 'bench', webhook_configs: [{ url: receiver.url }] }] };
  await writeFile(join(dir, 'hub.json'), JSON.stringify({ notify }));
  const hub = await startHubProcess(dir, log);
  try {
    const started = performance.now();
    const t0 = Date.now();
    for (let k = 3; k >= 1; k--) await put(hub.url, putsOf(w, gen.next(), t0 - k * 10_000, 0, w.series));
    log(`hub process: ${3 * w.series} points put in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await settle(receiver, 5_000, 120_000);
    const warmupSeconds = (performance.now() - started) / 1000;
    log(
      `hub process: first alerts sent (${receiver.received()} webhooks) after ${warmupSeconds.toFixed(0)} s`,
    );
    const triggers = Array.from({ length: w.series }, (_, i) => i).filter(isTrigger);
    const perSecond = Math.max(1, Math.floor(triggers.length / (seconds + 20)));
    log(
      `hub process: put → webhook for ${seconds} s, a tenth of the series and ${perSecond} triggers per second`,
    );
    const end = Date.now() + seconds * 1000;
    const size = Math.ceil(w.series / 10);
    let slice = 0;
    let next = 0;
    const v = gen.next();
    while (Date.now() < end) {
      const tick = Date.now();
      const from = slice * size;
      await put(hub.url, putsOf(w, v, tick, from, Math.min(w.series, from + size), true));
      slice = (slice + 1) % 10;
      const batch: Put[] = [];
      const keys: string[] = [];
      for (let k = 0; k < perSecond && next < triggers.length; k++, next++) {
        const { m, a, h } = seriesOf(w, triggers[next]!);
        batch.push({ metric: `bench.m${m}`, tags: tagsOf(a, h), timestamp: Date.now(), value: 99 });
        keys.push(`${ruleName(m, a)}|a${a}|h${h}`);
      }
      for (const key of keys) pending.set(key, Number.NaN);
      await put(hub.url, batch);
      const acked = performance.now();
      for (const key of keys) {
        const arrived = early.get(key);
        if (arrived !== undefined) delays.push(Math.max(0, arrived - acked));
        else if (pending.has(key)) pending.set(key, acked);
      }
      const wait = tick + 1000 - Date.now();
      if (wait > 0) await sleep(wait);
    }
    const sent = delays.length + pending.size;
    const deadline = Date.now() + 30_000;
    while (pending.size > 0 && Date.now() < deadline) await sleep(200);
    return { sent, delays, afterEvaluation, missing: pending.size, warmupSeconds };
  } finally {
    await stopHub(hub);
    await new Promise((r) => receiver.server.close(r));
  }
}
