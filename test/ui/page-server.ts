/**
 * A stand-in for the hub's HTTP server, enough to run the pages without it: the static files,
 * the vendored browser libraries, a small OpenTSDB-shaped `/api/query` over points held in
 * memory, and socket.io with the live push. Used by the browser tests and the demo server.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { Server } from 'socket.io';
import type { Clock } from '../../core/clock.ts';
import type { MetricPoint, Tags } from '../../core/model.ts';
import { createLivePush, type LivePush } from '../../ui/live/live-push.ts';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** One series of an OpenTSDB `/api/query` answer. */
export type TsdbSeries = { metric: string; tags: Tags; aggregateTags: string[]; dps: Record<string, number> };

type ParsedM = { aggregator: string; metric: string; groupBy: string[]; equal: Tags };

/** Parses `avg:host.cpu.usage{host=*,iface=eth0}` (a downsample part, if any, is ignored). */
export function parseM(m: string): ParsedM | undefined {
  const match = /^(\w+):(?:[^:{]+:)*([^:{]+)(?:\{([^}]*)\})?$/.exec(m);
  if (!match) return undefined;
  const groupBy: string[] = [];
  const equal: Tags = {};
  for (const part of (match[3] ?? '').split(',').filter(Boolean)) {
    const [k, v] = part.split('=') as [string, string | undefined];
    if (v === '*') groupBy.push(k);
    else if (v !== undefined) equal[k] = v;
  }
  return { aggregator: match[1]!, metric: match[2]!, groupBy, equal };
}

/**
 * Answers one sub-query from raw points the way OpenTSDB does for the cases the pages use:
 * group by the `*` tags, aggregate (avg, sum, min, max) points that share a timestamp.
 */
export function answerQuery(
  points: readonly MetricPoint[],
  m: ParsedM,
  start: number,
  ms: boolean,
): TsdbSeries[] {
  const groups = new Map<string, { tags: Tags; byTs: Map<number, number[]> }>();
  for (const p of points) {
    if (p.metric !== m.metric || p.ts < start) continue;
    if (Object.entries(m.equal).some(([k, v]) => p.tags[k] !== v)) continue;
    if (m.groupBy.some((k) => p.tags[k] === undefined)) continue;
    const tags: Tags = { ...m.equal };
    for (const k of m.groupBy) tags[k] = p.tags[k]!;
    const key = JSON.stringify(tags);
    const g = groups.get(key) ?? { tags, byTs: new Map<number, number[]>() };
    groups.set(key, g);
    const ts = ms ? p.ts : Math.floor(p.ts / 1000);
    g.byTs.set(ts, [...(g.byTs.get(ts) ?? []), p.value]);
  }
  const aggregate = (vs: number[]) => {
    const sum = vs.reduce((a, b) => a + b, 0);
    if (m.aggregator === 'sum') return sum;
    if (m.aggregator === 'min') return Math.min(...vs);
    if (m.aggregator === 'max') return Math.max(...vs);
    return sum / vs.length;
  };
  return [...groups.values()].map((g) => ({
    metric: m.metric,
    tags: g.tags,
    aggregateTags: [],
    dps: Object.fromEntries(
      [...g.byTs].sort((a, b) => a[0] - b[0]).map(([ts, vs]) => [String(ts), aggregate(vs)]),
    ),
  }));
}

/** `10m-ago`, `1h-ago`, or epoch seconds or ms. */
export function parseStart(start: string, now: number): number | undefined {
  const rel = /^(\d+)(ms|s|m|h|d)-ago$/.exec(start);
  if (rel) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
      rel[2] as 'ms' | 's' | 'm' | 'h' | 'd'
    ];
    return now - Number(rel[1]) * unit;
  }
  if (/^\d+$/.test(start)) return start.length > 10 ? Number(start) : Number(start) * 1000;
  return undefined;
}

export type PageServerOptions = {
  /** The points `/api/query` answers from; read at each request. */
  history: () => readonly MetricPoint[];
  /** Where the live push gets its points. */
  subscribe: (listener: (points: MetricPoint[]) => void) => () => void;
  clock: Clock;
  intervalMs?: number;
  port?: number;
  host?: string;
};

export type PageServer = {
  url: string;
  io: Server;
  /** Every request that reached express, in order, as method and URL. */
  requests: string[];
  close(): Promise<void>;
};

export async function startPageServer(options: PageServerOptions): Promise<PageServer> {
  const requests: string[] = [];
  const app = express();
  app.use((req, _res, next) => {
    requests.push(`${req.method} ${req.originalUrl}`);
    next();
  });
  app.get('/api/query', (req, res) => {
    const url = new URL(req.originalUrl, 'http://x');
    const start = parseStart(url.searchParams.get('start') ?? '', options.clock.now());
    const subs = url.searchParams.getAll('m').map(parseM);
    if (start === undefined || subs.length === 0 || subs.some((s) => s === undefined)) {
      res.status(400).json({ error: { code: 400, message: `Bad query: ${url.search}` } });
      return;
    }
    const ms = url.searchParams.get('ms') === 'true';
    const points = options.history();
    res.json(subs.flatMap((m) => answerQuery(points, m!, start, ms)));
  });
  app.use('/vendor/d3', express.static(root('node_modules/d3/dist')));
  app.use('/vendor/socket.io', express.static(root('node_modules/socket.io-client/dist')));
  app.use(express.static(root('ui/public')));

  const http: HttpServer = createServer(app);
  const io = new Server(http, { serveClient: false });
  const push: LivePush = createLivePush({
    io,
    subscribe: options.subscribe,
    clock: options.clock,
    intervalMs: options.intervalMs,
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    io,
    requests,
    async close() {
      push.close();
      await io.close();
    },
  };
}
