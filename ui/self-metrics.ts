/** The hub's own metrics in Prometheus' text format, for `GET /metrics`. */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import client from 'prom-client';
import type { HubInstruments } from '../core/metrics.ts';
import type { Bus, Leadership, MetricStore } from '../core/ports.ts';

export type SelfMetrics = {
  registry: client.Registry;
  instruments: HubInstruments;
  httpRequests: client.Counter<'method' | 'route' | 'status'>;
  httpSeconds: client.Histogram<'method' | 'route'>;
  /** Adds gauges read at scrape time from the bus and the store. */
  watch(bus: Bus, store: MetricStore & { stats?: () => Record<string, number> }): void;
  /** Adds `obs_leader`: whether this hub leads its group. */
  watchLeadership(leadership: Leadership): void;
};

export function createSelfMetrics(): SelfMetrics {
  const registry = new client.Registry();
  registerProcessMetrics(registry);
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new client.Counter({ name, help, labelNames, registers: [registry] });
  const accepted = counter('obs_points_accepted_total', 'Points acknowledged to a client, by protocol.', [
    'protocol',
  ]);
  const rejected = counter('obs_points_rejected_total', 'Points rejected, by protocol and reason.', [
    'protocol',
    'reason',
  ]);
  const stored = counter('obs_points_stored_total', 'Points written to the metric store.', []);
  const skipped = counter('obs_bus_records_skipped_total', 'Bus records that could not be decoded.', [
    'topic',
  ]);
  const storeSeconds = new client.Histogram({
    name: 'obs_store_write_seconds',
    help: 'Duration of one metric store write (one bus batch).',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const httpRequests = counter('obs_http_requests_total', 'HTTP requests, by method, route and status.', [
    'method',
    'route',
    'status',
  ]);
  const httpSeconds = new client.Histogram({
    name: 'obs_http_request_duration_seconds',
    help: 'HTTP request duration, by method and route.',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const instruments: HubInstruments = {
    pointsAccepted: { inc: (l, v = 1) => accepted.inc(l as { protocol: string }, v) },
    pointsRejected: { inc: (l, v = 1) => rejected.inc(l as { protocol: string; reason: string }, v) },
    pointsStored: { inc: (_l, v = 1) => stored.inc(v) },
    storeWriteSeconds: { observe: (_l, v) => storeSeconds.observe(v) },
    recordsSkipped: { inc: (l, v = 1) => skipped.inc(l as { topic: string }, v) },
  };
  return {
    registry,
    instruments,
    httpRequests,
    httpSeconds,
    watchLeadership(leadership) {
      new client.Gauge({
        name: 'obs_leader',
        help: 'Whether this hub leads its group (runs alert rules and the platform loop): 1 or 0.',
        registers: [registry],
        collect() {
          this.set(leadership.leads() ? 1 : 0);
        },
      });
    },
    watch(bus, store) {
      let cached: { at: number; value: Promise<Awaited<ReturnType<Bus['stats']>>> } | undefined;
      const busStats = () => {
        if (!cached || Date.now() - cached.at > 500) cached = { at: Date.now(), value: bus.stats() };
        return cached.value;
      };
      new client.Gauge({
        name: 'obs_bus_lag_records',
        help: 'Records published but not yet committed by a consumer group.',
        labelNames: ['topic', 'group'],
        registers: [registry],
        async collect() {
          this.reset();
          for (const t of await busStats())
            for (const g of t.groups) this.set({ topic: t.topic, group: g.group }, g.lag);
        },
      });
      new client.Gauge({
        name: 'obs_bus_bytes',
        help: 'Bytes the bus keeps on disk, by topic.',
        labelNames: ['topic'],
        registers: [registry],
        async collect() {
          for (const t of await busStats()) this.set({ topic: t.topic }, t.bytes);
        },
      });
      new client.Gauge({
        name: 'obs_store_disk_bytes',
        help: 'Bytes the metric store keeps on disk.',
        registers: [registry],
        async collect() {
          this.set(await store.diskBytes());
        },
      });
      const storeGauges: [name: string, stat: string, help: string][] = [
        ['obs_store_series', 'series', 'Series the metric store knows.'],
        ['obs_store_hot_points', 'hotPoints', 'Points the metric store holds in memory.'],
        [
          'obs_store_open_points',
          'openPoints',
          'Points not yet sealed into the store file: held in memory, durable on the bus.',
        ],
      ];
      for (const [name, stat, help] of storeGauges)
        new client.Gauge({
          name,
          help,
          registers: [registry],
          collect() {
            const value = store.stats?.()[stat];
            if (value !== undefined) this.set(value);
          },
        });
    },
  };
}

/**
 * The process metrics Prometheus users expect. (prom-client's defaults include gauges named
 * `*_total`, which `promtool check metrics` rejects, so the hub registers its own few.)
 */
function registerProcessMetrics(registry: client.Registry): void {
  const started = Date.now() / 1000 - process.uptime();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  new client.Counter({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time spent, in seconds.',
    registers: [registry],
    collect() {
      const u = process.cpuUsage();
      this.reset();
      this.inc((u.user + u.system) / 1e6);
    },
  });
  new client.Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new client.Gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since the epoch, in seconds.',
    registers: [registry],
    collect() {
      this.set(started);
    },
  });
  new client.Gauge({
    name: 'nodejs_heap_used_bytes',
    help: 'V8 heap in use, in bytes.',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  new client.Gauge({
    name: 'nodejs_eventloop_lag_p99_seconds',
    help: '99th percentile of the event loop delay since the last scrape, in seconds.',
    registers: [registry],
    collect() {
      this.set(lag.percentile(99) / 1e9);
      lag.reset();
    },
  });
}
