/**
 * The hub's own instruments, as structural types: the core counts and times through these and
 * never imports a metrics library. `ui/self-metrics.ts` backs them with Prometheus' client.
 */
export type Labels = Record<string, string>;

export type Counter = { inc(labels: Labels, value?: number): void };
export type Histogram = { observe(labels: Labels, value: number): void };

export type HubInstruments = {
  /** Points accepted, by protocol (http, telnet, agent). */
  pointsAccepted: Counter;
  /** Points rejected, by protocol and reason (metric, timestamp, value, tags, format). */
  pointsRejected: Counter;
  /** Points written to the metric store. */
  pointsStored: Counter;
  /** Seconds one store write took. */
  storeWriteSeconds: Histogram;
  /** Bus records the ingest could not decode, skipped after logging. */
  recordsSkipped: Counter;
};

const noopCounter: Counter = { inc: () => {} };
const noopHistogram: Histogram = { observe: () => {} };

export const noopInstruments: HubInstruments = {
  pointsAccepted: noopCounter,
  pointsRejected: noopCounter,
  pointsStored: noopCounter,
  storeWriteSeconds: noopHistogram,
  recordsSkipped: noopCounter,
};
