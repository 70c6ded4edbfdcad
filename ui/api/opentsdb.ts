/**
 * OpenTSDB's HTTP API on the hub's port, as OpenTSDB 2.4 answers it, so that its tools and
 * Grafana's OpenTSDB data source work unchanged.
 */
import express, { type Request, type Response, Router } from 'express';
import type { Principal } from '../../core/auth.ts';
import type { Clock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import { isBlankBody, parseJsonBody } from '../../core/json-body.ts';
import type { HubInstruments } from '../../core/metrics.ts';
import type { MetricPoint, Tags } from '../../core/model.ts';
import type { MetricStore, ProjectScope } from '../../core/ports.ts';
import { AGGREGATORS, type MetricQuery } from '../../core/query.ts';
import { admitColumns } from '../../pipeline/admission.ts';
import { decodePutBody } from '../../pipeline/codec/opentsdb-put.ts';
import { columnsOf } from '../../pipeline/codec/point-columns.ts';
import { createPutBodyDecoder, type PutColumnsDecoded } from '../../pipeline/codec/put-body-decoder.ts';
import type { Ingest } from '../../pipeline/ingest.ts';
import type { CardinalityLimiter, RateLimiter } from '../../pipeline/limits.ts';
import { parseQueryBody, parseQueryParams } from '../../pipeline/query/parse.ts';
import { toOpenTsdbJson } from '../../pipeline/query/response.ts';
import { type Auth, principalOf } from '../auth/http-auth.ts';

export type OpenTsdbApiOptions = {
  ingest: Ingest;
  store: MetricStore;
  clock: Clock;
  instruments: HubInstruments;
  maxTags: number;
  maxBodyBytes: number;
  auth: Auth;
  rateLimiter: RateLimiter;
  cardinality: CardinalityLimiter;
};

/** What a principal may see of the metric store. */
export function scopeOf(p: Principal): ProjectScope | undefined {
  return p.allProjects ? undefined : { projects: [...p.projects.keys()] };
}

export const OPENTSDB_VERSION = '2.4.1';

/** OpenTSDB's error body. */
export function openTsdbError(
  res: Response,
  status: number,
  message: string,
  details?: string,
  extra?: object,
): void {
  res.status(status).json({ error: { code: status, message, ...(details ? { details } : {}), ...extra } });
}

function parseJson(req: Request): unknown {
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  if (isBlankBody(body)) throw new HubError('BAD_REQUEST', 'Missing request content', { where: 'body' });
  try {
    return parseJsonBody(body);
  } catch (e) {
    throw new HubError('BAD_REQUEST', `Unable to parse the given JSON: ${(e as Error).message}`, {
      cause: e,
      where: 'body',
    });
  }
}

const FILTER_DOCS: Record<string, { examples: string; description: string }> = {
  literal_or: {
    examples: 'host=literal_or(web01|web02)',
    description: 'Matches one of the pipe-separated values, case sensitive.',
  },
  iliteral_or: {
    examples: 'host=iliteral_or(WEB01|web02)',
    description: 'Like literal_or, case insensitive.',
  },
  not_literal_or: {
    examples: 'host=not_literal_or(web01)',
    description: 'Excludes the pipe-separated values, case sensitive.',
  },
  not_iliteral_or: {
    examples: 'host=not_iliteral_or(WEB01)',
    description: 'Like not_literal_or, case insensitive.',
  },
  wildcard: {
    examples: 'host=wildcard(web*)',
    description: 'Matches values with * standing for any characters, case sensitive.',
  },
  iwildcard: { examples: 'host=iwildcard(WEB*)', description: 'Like wildcard, case insensitive.' },
  regexp: {
    examples: 'host=regexp(web[0-9]+)',
    description: 'Matches values a regular expression finds a match in.',
  },
};

export function createOpenTsdbRouter(options: OpenTsdbApiOptions): Router {
  const { ingest, store, clock, instruments, auth } = options;
  const router = Router();
  const raw = express.raw({ type: () => true, limit: options.maxBodyBytes });
  const read = auth.need('read');

  const decodeBody = createPutBodyDecoder(options.maxTags);

  router.post('/api/put', auth.need('ingest'), raw, async (req, res) => {
    let decoded: PutColumnsDecoded | undefined = Buffer.isBuffer(req.body) ? decodeBody(req.body) : undefined;
    if (!decoded) {
      let body: unknown;
      try {
        body = parseJson(req);
      } catch (e) {
        instruments.pointsRejected.inc({ protocol: 'http', reason: 'format' });
        return openTsdbError(res, 400, (e as HubError).message);
      }
      const { points, errors, reasons } = decodePutBody(body, options.maxTags);
      decoded = { columns: columnsOf(points), errors, reasons };
    }
    const count = decoded.columns.series.length;
    if (count === 0 && decoded.errors.length === 0)
      return openTsdbError(res, 400, 'No datapoints found in content');
    const principal = principalOf(res);
    const key = principal.tokenId ?? `${principal.kind}:${principal.name}`;
    if (!options.rateLimiter.take(key, count)) {
      instruments.pointsRejected.inc({ protocol: 'http', reason: 'rate_limited' }, count);
      res.setHeader('Retry-After', String(options.rateLimiter.retryAfter(key, count)));
      return openTsdbError(
        res,
        429,
        `Rate limit of ${principal.kind} ${principal.name} exceeded`,
        'Slow down, or raise limits.ingestPointsPerSecond',
      );
    }
    const { admitted, keys, refused } = admitColumns(decoded.columns, principal, options.cardinality);
    await ingest.publishColumns(admitted, 'http', keys);
    const errors = [
      ...decoded.errors,
      ...refused.map((r) => ({ datapoint: toDatapoint(r.point), error: r.error })),
    ];
    for (const reason of [...decoded.reasons, ...refused.map((r) => r.reason)])
      instruments.pointsRejected.inc({ protocol: 'http', reason });
    const details = 'details' in req.query;
    const summary = 'summary' in req.query;
    const failed = errors.length;
    const success = count - refused.length;
    if (!details && !summary) {
      if (failed > 0)
        return openTsdbError(
          res,
          400,
          'One or more data points had errors',
          'Please see the TSD logs or append "details" to the put request',
        );
      return res.status(204).end();
    }
    const answer = details ? { errors, failed, success } : { failed, success };
    res.status(failed > 0 ? 400 : 200).json(answer);
  });

  const answerQuery = async (res: Response, query: MetricQuery) => {
    const scope = scopeOf(principalOf(res));
    if (store.queryJson) {
      const bytes = await store.queryJson(query, scope);
      res.type('json').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } else res.type('json').send(toOpenTsdbJson(await store.query(query, scope), query));
  };
  router.post('/api/query', read, raw, async (req, res) =>
    answerQuery(res, parseQueryBody(parseJson(req), clock.now())),
  );
  router.get('/api/query', read, async (req, res) => {
    const params = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
    await answerQuery(res, parseQueryParams(params, clock.now()));
  });

  router.get('/api/suggest', read, async (req, res) => {
    const type = String(req.query['type'] ?? '');
    if (type !== 'metrics' && type !== 'tagk' && type !== 'tagv')
      throw new HubError(
        'BAD_REQUEST',
        `Invalid 'type' parameter "${type}": expected metrics, tagk or tagv`,
        { where: 'type' },
      );
    const max = Number(req.query['max'] ?? 25);
    if (!Number.isInteger(max) || max < 1)
      throw new HubError('BAD_REQUEST', `Invalid 'max' parameter "${req.query['max']}"`, { where: 'max' });
    res.json(await store.suggest(type, String(req.query['q'] ?? ''), max, scopeOf(principalOf(res))));
  });

  router.get('/api/search/lookup', read, async (req, res) => {
    const m = String(req.query['m'] ?? '');
    const limit = Number(req.query['limit'] ?? 25);
    const started = clock.now();
    const { metric, tags } = parseLookup(m);
    const results = await store.lookup(
      metric,
      tags,
      Number.isInteger(limit) && limit > 0 ? limit : 25,
      scopeOf(principalOf(res)),
    );
    res.json({
      type: 'LOOKUP',
      metric,
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      limit,
      time: clock.now() - started,
      results,
      startIndex: 0,
      totalResults: results.length,
    });
  });

  router.get('/api/config/filters', read, (_req, res) => res.json(FILTER_DOCS));
  router.get('/api/aggregators', read, (_req, res) => res.json([...AGGREGATORS].sort()));
  router.get('/api/version', read, (_req, res) =>
    res.json({
      version: OPENTSDB_VERSION,
      short_revision: 'obs',
      full_revision: 'obs',
      repo_status: 'MODIFIED',
      user: 'obs',
      host: 'obs',
      timestamp: '0',
    }),
  );
  return router;
}

/** A refused point as OpenTSDB echoes it: timestamp in ms. */
function toDatapoint(p: MetricPoint): object {
  return { metric: p.metric, timestamp: p.ts, value: p.value, tags: p.tags };
}

/** `metric{k=v,k2=*}` of `/api/search/lookup`. */
export function parseLookup(m: string): { metric: string; tags: Tags } {
  const match = /^([^{}]*)(?:\{([^{}]*)\})?$/.exec(m.trim());
  if (!match || (match[1] === '' && !match[2]))
    throw new HubError('BAD_REQUEST', `Invalid lookup "${m}": expected metric{tagk=tagv,...}`, {
      where: 'm',
    });
  const tags: Tags = {};
  for (const pair of (match[2] ?? '').split(',').filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    if (eq < 0)
      throw new HubError('BAD_REQUEST', `Invalid tag "${pair}" in lookup "${m}": expected tagk=tagv`, {
        where: 'm',
      });
    tags[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return { metric: match[1]!.trim() || '*', tags };
}
