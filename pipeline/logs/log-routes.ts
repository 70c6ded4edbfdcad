/**
 * Logs over HTTP. `POST /api/logs` takes a JSON array of LogRecords, or JSON lines with
 * `Content-Type: application/x-ndjson`; each record is checked on its own, the good ones are
 * published to the Bus and acknowledged (202) once durable there, the bad ones answered with
 * their index and field (400, the good ones still taken, as `/api/put?details` does).
 * `GET /api/logs/search` answers matching records newest first. A caller limited to projects
 * writes and sees only records whose `project` field is one of its projects.
 */
import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import { canWriteProject, type Principal, type Scope, visibleProjects } from '../../core/auth.ts';
import { type Clock, systemClock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import type { LogRecord } from '../../core/model.ts';
import type { CheckpointedLogStore, ScopedLogQuery } from './embedded-log-store.ts';
import type { LogIngest } from './log-ingest.ts';
import { parseLogBody, type RecordError, recordProject, words } from './log-text.ts';

export type LogRoutesOptions = {
  store: Pick<CheckpointedLogStore, 'search'>;
  ingest: Pick<LogIngest, 'publish'>;
  /** Route guards; the principal is read from `res.locals.principal`, as the hub's auth sets it. */
  auth: { need(scope: Scope): RequestHandler };
  clock?: Clock;
  /** Largest request body. Default 16 MiB. */
  maxBodyBytes?: number;
  /** Called with the count of refused records of each request (for `/metrics`). */
  onRejected?: (count: number) => void;
};

const HOUR_MS = 3_600_000;
const MAX_LIMIT = 10_000;

function principalOf(res: Response): Principal {
  const p = res.locals['principal'] as Principal | undefined;
  if (!p) throw new HubError('UNAUTHORIZED', 'Authentication required');
  return p;
}

function isNdjson(req: Request): boolean {
  return /ndjson|jsonl|json-lines|ldjson/i.test(req.headers['content-type'] ?? '');
}

/** Epoch ms from `1767225600000` or an ISO-8601 time; `fallback` when absent. */
export function timeParam(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const text = String(value);
  const n = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(n))
    throw new HubError('BAD_REQUEST', `Invalid '${name}' "${text}": epoch milliseconds or an ISO-8601 time`, {
      where: name,
    });
  return n;
}

/** The search of a request's query string, for the caller's projects. */
export function logSearchQuery(q: Record<string, unknown>, now: number, p: Principal): ScopedLogQuery {
  const end = timeParam(q['end'], 'end', now);
  const start = timeParam(q['start'], 'start', end - HOUR_MS);
  if (start > end)
    throw new HubError('BAD_REQUEST', `'start' (${start}) is after 'end' (${end})`, { where: 'start' });
  const rawLimit = q['limit'] === undefined || q['limit'] === '' ? '100' : String(q['limit']);
  const limit = Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new HubError('BAD_REQUEST', `Invalid 'limit' "${rawLimit}": 1 to ${MAX_LIMIT}`, { where: 'limit' });
  const query: ScopedLogQuery = { start, end, limit };
  for (const key of ['source', 'q'] as const) {
    const v = q[key];
    if (v !== undefined && typeof v !== 'string')
      throw new HubError('BAD_REQUEST', `'${key}' must be given once`, { where: key });
  }
  if (typeof q['source'] === 'string' && q['source'] !== '') query.source = q['source'];
  // A text without words (only punctuation) filters nothing, on every store alike.
  if (typeof q['q'] === 'string' && words(q['q']).length > 0) query.text = q['q'];
  const projects = visibleProjects(p);
  if (projects !== 'all') query.projects = projects;
  return query;
}

/** Refuses records of projects the caller may not write to, as errors of their own. */
function admit(records: LogRecord[], indexes: number[], p: Principal) {
  const ok: LogRecord[] = [];
  const refused: RecordError[] = [];
  records.forEach((r, i) => {
    const project = recordProject(r);
    if (canWriteProject(p, project)) ok.push(r);
    else
      refused.push({
        index: indexes[i]!,
        field: 'fields.project',
        message: `${project ? `project "${project}"` : 'a record without a project'} may not be written by ${p.kind} ${p.name}`,
      });
  });
  return { ok, refused };
}

export function createLogRouter(options: LogRoutesOptions): Router {
  const { store, ingest, auth } = options;
  const clock = options.clock ?? systemClock;
  const router = Router();
  const raw = express.raw({ type: () => true, limit: options.maxBodyBytes ?? 16 * 1024 * 1024 });

  router.post('/api/logs', auth.need('ingest'), raw, async (req, res) => {
    const text = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    let parsed: ReturnType<typeof parseLogBody>;
    try {
      parsed = parseLogBody(text, isNdjson(req));
    } catch (e) {
      throw new HubError('BAD_REQUEST', `The body is not JSON: ${(e as Error).message}`, { where: 'body' });
    }
    if (parsed.records.length === 0 && parsed.errors.length === 0)
      throw new HubError('BAD_REQUEST', 'No log records in the body', { where: 'body' });
    const { ok, refused } = admit(parsed.records, parsed.indexes, principalOf(res));
    const errors = [...parsed.errors, ...refused].sort((a, b) => a.index - b.index);
    await ingest.publish(ok);
    if (errors.length > 0) options.onRejected?.(errors.length);
    res.status(errors.length > 0 ? 400 : 202).json({
      success: ok.length,
      failed: errors.length,
      ...(errors.length > 0 ? { errors } : {}),
    });
  });

  router.get('/api/logs/search', auth.need('read'), async (req, res) => {
    const query = logSearchQuery(req.query as Record<string, unknown>, clock.now(), principalOf(res));
    res.json(await store.search(query));
  });

  return router;
}
