/**
 * A Chronos CONTRACT SERVER for tests and demos — it is not Chronos. It answers the endpoints of
 * Chronos' documented REST API (docs/docs/api.md of mesos/chronos) that the hub uses: list and
 * search jobs, add or replace a scheduled job (POST /v1/scheduler/iso8601, 204), start a job by
 * hand (PUT /v1/scheduler/job/{name}, 204) and delete it (DELETE, 204). Job fields and defaults
 * follow the doc's "Job Configuration" table; a manual run succeeds after `runMs`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, systemClock } from '../../../core/clock.ts';
import { type ChronosJob, ISO8601_SCHEDULE, JOB_NAME } from './mapping.ts';

export type ChronosContractServer = {
  url: string;
  state: { jobs: Map<string, ChronosJob>; runs: { name: string; at: number }[] };
  /** Every request received, in order (path includes the query string). */
  requests: { method: string; path: string; body: unknown }[];
  /** Answers the next `count` requests with `status`. */
  failNext(status: number, count: number): void;
  close(): Promise<void>;
};

export type ChronosContractServerOptions = { port?: number; clock?: Clock; runMs?: number };

/** Defaults of the documented job configuration table. */
function withDefaults(job: ChronosJob, previous: ChronosJob | undefined): ChronosJob {
  return {
    description: '',
    shell: true,
    executor: '',
    executorFlags: '',
    retries: 2,
    owner: '',
    async: false,
    epsilon: 'PT60S',
    cpus: 0.1,
    mem: 128,
    disk: 256,
    disabled: false,
    concurrent: false,
    fetch: [],
    environmentVariables: [],
    constraints: [],
    ...job,
    // Counters belong to Chronos, not to the request; they restart when the job is modified.
    successCount: 0,
    errorCount: 0,
    lastSuccess: previous?.lastSuccess ?? '',
    lastError: previous?.lastError ?? '',
  };
}

/** Chronos' refusals of a job hash: the problems, or an empty list. */
function problemsOf(body: unknown): string[] {
  if (!body || typeof body !== 'object') return ['the body must be a JSON job hash'];
  const job = body as Partial<ChronosJob>;
  const problems: string[] = [];
  if (typeof job.name !== 'string' || !JOB_NAME.test(job.name))
    problems.push(`invalid job name "${job.name}"`);
  if (typeof job.command !== 'string') problems.push('command is required');
  if (typeof job.schedule !== 'string' || !ISO8601_SCHEDULE.test(job.schedule)) {
    problems.push(`invalid ISO 8601 schedule "${job.schedule}"`);
  }
  for (const f of ['cpus', 'mem', 'disk'] as const) {
    if (job[f] !== undefined && !(Number(job[f]) >= 0)) problems.push(`${f} must be a number`);
  }
  if (job.container && (job.container.type !== 'DOCKER' || !job.container.image)) {
    problems.push('container needs type DOCKER and an image');
  }
  return problems;
}

export async function startChronosContractServer(
  options: ChronosContractServerOptions = {},
): Promise<ChronosContractServer> {
  const clock = options.clock ?? systemClock;
  const jobs = new Map<string, ChronosJob>();
  const runs: { name: string; at: number }[] = [];
  const requests: { method: string; path: string; body: unknown }[] = [];
  const timers = new Set<() => void>();
  let failures = { status: 0, count: 0 };

  function route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
  ): { status: number; body?: unknown } {
    if (method === 'GET' && path === '/v1/scheduler/jobs') return { status: 200, body: [...jobs.values()] };
    if (method === 'GET' && path === '/v1/scheduler/jobs/search') {
      const name = (query.get('name') ?? '').toLowerCase();
      return { status: 200, body: [...jobs.values()].filter((j) => j.name.toLowerCase().includes(name)) };
    }
    if (method === 'POST' && path === '/v1/scheduler/iso8601') {
      const problems = problemsOf(body);
      if (problems.length) return { status: 400, body: { message: problems.join('; ') } };
      const job = body as ChronosJob;
      jobs.set(job.name, withDefaults(job, jobs.get(job.name)));
      return { status: 204 };
    }
    const m = /^\/v1\/scheduler\/job\/([^/]+)$/.exec(path);
    if (m) {
      const name = decodeURIComponent(m[1]!);
      const job = jobs.get(name);
      if (!job) return { status: 404, body: { message: `Job '${name}' not found` } };
      if (method === 'DELETE') {
        jobs.delete(name);
        return { status: 204 };
      }
      if (method === 'PUT') {
        runs.push({ name, at: clock.now() });
        const cancel = clock.setTimeout(() => {
          timers.delete(cancel);
          job.successCount = (job.successCount ?? 0) + 1;
          job.lastSuccess = new Date(clock.now()).toISOString();
        }, options.runMs ?? 0);
        timers.add(cancel);
        return { status: 204 };
      }
    }
    return { status: 404, body: { message: `no route ${method} ${path} in the Chronos contract server` } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = new URL(req.url ?? '/', 'http://contract');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    let badJson = false;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      badJson = true;
    }
    const method = req.method ?? 'GET';
    requests.push({ method, path: parsed.pathname + parsed.search, body: badJson ? raw : body });
    let answer: { status: number; body?: unknown };
    if (failures.count > 0) {
      failures.count--;
      answer = { status: failures.status, body: { message: 'injected failure (contract server)' } };
    } else if (badJson) {
      answer = { status: 400, body: { message: 'malformed JSON' } };
    } else {
      answer = route(method, parsed.pathname, parsed.searchParams, body);
    }
    if (answer.body === undefined) res.writeHead(answer.status).end();
    else
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => res.writeHead(500).end(String(e)));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    state: { jobs, runs },
    requests,
    failNext(status, count) {
      failures = { status, count };
    },
    async close() {
      for (const cancel of timers) cancel();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
