/**
 * What `npm run bench:spans` prints: a row per system and run, each system's medians over the
 * runs, and the hub/Zipkin ratios (the median of the runs' ratios) last.
 */
import { median } from '../stats.ts';

export type Result = {
  system: string;
  ackPerSec: number;
  storedPerSec: number;
  p50: number;
  p99: number;
  ackSeconds: number;
  storedSeconds: number;
  /** Server CPU (all threads) per span stored, when the bench started the server. */
  cpuMicrosPerSpan: number | undefined;
  /** This process's CPU per span over the ingest (building and sending the batches, polling). */
  clientCpuMicrosPerSpan: number;
};

export type Run = { hub?: Result; zipkin?: Result };

/** Each figure of a system's runs as their median (the run itself when there is one). */
function medianResult(list: readonly Result[]): Result {
  const pick = (f: (r: Result) => number) => median(list.map(f));
  const cpu = list.map((r) => r.cpuMicrosPerSpan).filter((c): c is number => c !== undefined);
  return {
    system: list[0]!.system,
    ackPerSec: pick((r) => r.ackPerSec),
    storedPerSec: pick((r) => r.storedPerSec),
    p50: pick((r) => r.p50),
    p99: pick((r) => r.p99),
    ackSeconds: pick((r) => r.ackSeconds),
    storedSeconds: pick((r) => r.storedSeconds),
    cpuMicrosPerSpan: cpu.length === list.length ? median(cpu) : undefined,
    clientCpuMicrosPerSpan: pick((r) => r.clientCpuMicrosPerSpan),
  };
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const row = (name: string, r: Result) =>
  `${name.padEnd(13)}  ${fmt(r.ackPerSec).padStart(13)}   ${fmt(r.storedPerSec).padStart(14)}   ${(r.cpuMicrosPerSpan?.toFixed(1) ?? '-').padStart(18)}   ${r.clientCpuMicrosPerSpan.toFixed(1).padStart(18)}   ${r.p50.toFixed(2).padStart(18)}   ${r.p99.toFixed(2).padStart(6)}`;

/** The medians of each system measured, and the lines to print (`heading` first). */
export function report(
  runs: readonly Run[],
  heading: readonly string[],
): { results: Result[]; lines: string[] } {
  const several = runs.length > 1;
  const systems = (['hub', 'zipkin'] as const).filter((s) => runs[0]![s]);
  const results = systems.map((s) => medianResult(runs.map((r) => r[s]!)));
  const lines = [
    ...heading,
    'system         acked spans/s   stored spans/s   server CPU µs/span   client CPU µs/span   trace-by-id p50 ms   p99 ms',
    ...(several ? runs.flatMap((run, i) => systems.map((s) => row(`${s} run ${i + 1}`, run[s]!))) : []),
    ...results.map((r) => row(several ? `${r.system} median` : r.system, r)),
  ];
  /** A ratio of hub to Zipkin: the median of the runs' ratios, and each run's when there are several. */
  const ratio = (f: (r: Result) => number | undefined): string | undefined => {
    const each = runs.map((r) => {
      const a = f(r.hub!);
      const b = f(r.zipkin!);
      return a !== undefined && b !== undefined ? a / b : undefined;
    });
    if (each.some((x) => x === undefined)) return undefined;
    const xs = each as number[];
    return `${median(xs).toFixed(2)}x${several ? ` (runs ${xs.map((x) => x.toFixed(2)).join(' / ')})` : ''}`;
  };
  if (systems.length === 2) {
    const hub = results[0]!;
    const zk = results[1]!;
    const cpu = ratio((r) => r.cpuMicrosPerSpan);
    lines.push(
      `ingest ratio hub/zipkin (acked): ${ratio((r) => r.ackPerSec)}, (stored): ${ratio((r) => r.storedPerSec)} (target >= 2)`,
      ...(cpu ? [`server CPU per span hub/zipkin: ${cpu}`] : []),
      `trace-by-id p99 hub/zipkin: ${ratio((r) => r.p99)} (hub ${hub.p99.toFixed(2)} ms, target < 10 ms and <= zipkin's ${zk.p99.toFixed(2)} ms)`,
    );
  }
  return { results, lines };
}
