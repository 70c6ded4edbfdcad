/**
 * Trace ingest and query over HTTP: Zipkin's v2 API (`zipkin2-api.yaml`) so that Zipkin clients,
 * Zipkin's UI and Grafana's Zipkin data source work against the hub, OTLP/HTTP JSON ingest, and
 * our own read model and search. Every answer is limited to the caller's projects: a span is
 * visible when `projectOfService(service)` is one of them (a principal with all projects sees
 * everything; a service of no known project only it). A trace shows only its visible spans.
 */
import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import { canWriteProject, type Principal, type Scope, visibleProjects } from '../../core/auth.ts';
import { type Clock, systemClock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import { parseJsonBodyOr } from '../../core/json-body.ts';
import { type AssembledTrace, assembleTrace, mergeTrace, traceRows } from '../assembler/assemble.ts';
import type { TraceAssembler } from '../assembler/assembler.ts';
import type { DecodeFormat, DecodePool } from '../codec/decode-pool.ts';
import { decodeOtlpTraces, otlpResponse } from '../codec/otlp-json.ts';
import { decodeZipkinSpans, toZipkinSpan } from '../codec/zipkin-json.ts';
import { type DecodeResult, normalizeId, type SpanError, type TraceSpan } from '../model.ts';
import type { EmbeddedSpanStore } from '../store/embedded-span-store.ts';
import type { TracingIngest } from '../tracing-ingest.ts';
import { searchQuery, textParam, timeWindow, zipkinTracesQuery } from './params.ts';

export type TraceReadStore = Pick<
  EmbeddedSpanStore,
  'getTrace' | 'getTraces' | 'findTraces' | 'services' | 'spanNames' | 'remoteServices' | 'links'
>;

export type ZipkinRoutesOptions = {
  store: TraceReadStore;
  assembler: Pick<TraceAssembler, 'status'>;
  tracingIngest: Pick<TracingIngest, 'publish' | 'publishRecords'>;
  /** Route guards; the principal is read from `res.locals.principal`, as the hub's auth sets it. */
  auth: { need(scope: Scope): RequestHandler };
  projectOfService: (service: string) => string | undefined;
  clock?: Clock;
  /** Largest request body. Default 16 MiB. */
  maxBodyBytes?: number;
  /** Decodes request bodies on other threads; without it (or when it fails) this thread decodes. */
  decodePool?: DecodePool;
};

function principalOf(res: Response): Principal {
  const p = res.locals['principal'] as Principal | undefined;
  if (!p) throw new HubError('UNAUTHORIZED', 'Authentication required');
  return p;
}

/** Which services the caller may see. */
function visibility(
  p: Principal,
  projectOfService: (s: string) => string | undefined,
): (service: string) => boolean {
  const projects = visibleProjects(p);
  if (projects === 'all') return () => true;
  const set = new Set(projects);
  return (service) => {
    const project = projectOfService(service);
    return project !== undefined && set.has(project);
  };
}

function isJson(req: Request): boolean {
  const type = req.headers['content-type'] ?? 'application/json';
  return /json/i.test(type) || !/protobuf|thrift|proto/i.test(type);
}

/** Refuses spans of services in projects the caller may not write to, as errors of their own. */
function admit(
  decoded: DecodeResult,
  p: Principal,
  projectOfService: (s: string) => string | undefined,
): DecodeResult {
  if (p.allProjects) return decoded;
  const spans: TraceSpan[] = [];
  const indexes: number[] = [];
  const errors: SpanError[] = [...decoded.errors];
  decoded.spans.forEach((s, i) => {
    const project = projectOfService(s.service);
    const index = decoded.indexes[i]!;
    if (canWriteProject(p, project)) {
      spans.push(s);
      indexes.push(index);
    } else
      errors.push({
        index,
        field: 'service',
        message: `service ${s.service} is in ${project ? `project ${project}` : 'no known project'}, which ${p.kind} ${p.name} may not write to`,
      });
  });
  errors.sort((a, b) => a.index - b.index);
  return { spans, indexes, errors };
}

function traceSummary(a: AssembledTrace, status: { complete: boolean } | undefined) {
  const root = a.roots.find((n) => n.span)?.span;
  return {
    traceId: a.traceId,
    start: a.start,
    duration: Math.max(0, a.end - a.start),
    rootService: root?.service,
    rootName: root?.name,
    services: a.services,
    spanCount: a.spans.length,
    errorCount: a.errorCount,
    complete: status?.complete ?? true,
  };
}

export function createZipkinRouter(options: ZipkinRoutesOptions): Router {
  const { store, assembler, tracingIngest, auth, projectOfService } = options;
  const clock = options.clock ?? systemClock;
  const router = Router();
  const raw = express.raw({ type: () => true, limit: options.maxBodyBytes ?? 16 * 1024 * 1024 });
  const read = auth.need('read');
  const canSee = (res: Response) => visibility(principalOf(res), projectOfService);

  async function visibleServices(res: Response): Promise<string[] | undefined> {
    const p = principalOf(res);
    if (p.allProjects) return undefined;
    const see = visibility(p, projectOfService);
    return (await store.services()).filter(see);
  }

  /** A trace's visible spans, merged, ordered by start. */
  async function visibleTrace(res: Response, traceId: string): Promise<TraceSpan[]> {
    const see = canSee(res);
    const spans = (await store.getTrace(traceId)).filter((s) => see(s.service));
    return mergeTrace(spans).sort((a, b) => a.start - b.start || (a.spanId < b.spanId ? -1 : 1));
  }

  function traceIdParam(value: string | undefined, where: string): string {
    const id = value && value.length >= 16 ? normalizeId(value, 32) : undefined;
    if (!id)
      throw new HubError('BAD_REQUEST', `Trace id "${value ?? ''}" must be 16 or 32 hex digits`, { where });
    return id;
  }

  /**
   * Decodes, checks the caller's projects and publishes a body; resolves once the good spans are
   * durable. A body that is not JSON throws a `BAD_REQUEST` HubError.
   */
  async function ingestBody(
    req: Request,
    res: Response,
    format: DecodeFormat,
  ): Promise<{ accepted: number; errors: SpanError[] }> {
    const p = principalOf(res);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (options.decodePool) {
      const size = body.length;
      try {
        const r = await options.decodePool.decode(format, body, !p.allProjects);
        if (p.allProjects || r.services!.every((s) => canWriteProject(p, projectOfService(s)))) {
          await tracingIngest.publishRecords(r.records);
          return { accepted: r.count, errors: r.errors };
        }
      } catch (e) {
        // A body that moved to a thread that then stopped is gone: the client sends it again.
        if (!(e instanceof HubError && e.code === 'UNAVAILABLE') || body.length !== size) throw e;
      }
    }
    let parsed: unknown;
    try {
      parsed = parseJsonBodyOr(body, format === 'zipkin' ? [] : {});
    } catch (e) {
      throw new HubError('BAD_REQUEST', `The body is not valid JSON: ${(e as Error).message}`, {
        where: 'body',
      });
    }
    const decoded = format === 'zipkin' ? decodeZipkinSpans(parsed) : decodeOtlpTraces(parsed);
    const { spans, errors } = admit(decoded, p, projectOfService);
    await tracingIngest.publish(spans);
    return { accepted: spans.length, errors };
  }

  router.post('/api/v2/spans', auth.need('ingest'), raw, async (req, res) => {
    if (!isJson(req))
      throw new HubError(
        'BAD_REQUEST',
        `Only JSON spans are accepted here, not ${req.headers['content-type']}`,
        {
          where: 'content-type',
        },
      );
    const { accepted, errors } = await ingestBody(req, res, 'zipkin');
    if (errors.length === 0) return res.status(202).end();
    const first = errors[0]!;
    res.status(400).json({
      error: {
        code: 400,
        type: 'BAD_REQUEST',
        message: `${errors.length} span(s) refused, ${accepted} accepted; span ${first.index}: ${first.message}`,
        where: first.index >= 0 ? `[${first.index}]${first.field ? '.' + first.field : ''}` : 'body',
      },
      accepted,
      rejected: errors.length,
      errors,
    });
  });

  router.post('/v1/traces', auth.need('ingest'), raw, async (req, res) => {
    if (!/json/i.test(req.headers['content-type'] ?? ''))
      return res
        .status(415)
        .json({ code: 3, message: 'Only OTLP/HTTP JSON (Content-Type: application/json) is accepted' });
    let result: { accepted: number; errors: SpanError[] };
    try {
      result = await ingestBody(req, res, 'otlp');
    } catch (e) {
      if (e instanceof HubError && e.code === 'BAD_REQUEST')
        return res.status(400).json({ code: 3, message: e.message });
      throw e;
    }
    const bad = result.errors.find((e) => e.index < 0);
    if (result.accepted === 0 && bad) return res.status(400).json({ code: 3, message: bad.message });
    res.status(200).json(otlpResponse(result.errors));
  });

  router.get('/api/v2/services', read, async (_req, res) => {
    const see = canSee(res);
    res.json((await store.services()).filter(see));
  });

  const namesOf =
    (kind: 'spanNames' | 'remoteServices'): RequestHandler =>
    async (req, res) => {
      const service = textParam(req.query, 'serviceName');
      if (!service)
        throw new HubError('BAD_REQUEST', 'Parameter serviceName is required', { where: 'serviceName' });
      res.json(canSee(res)(service) ? await store[kind](service) : []);
    };
  router.get('/api/v2/spans', read, namesOf('spanNames'));
  router.get('/api/v2/remoteServices', read, namesOf('remoteServices'));

  router.get('/api/v2/traces', read, async (req, res) => {
    const query = zipkinTracesQuery(req.query, clock.now());
    const services = await visibleServices(res);
    const ids = await store.findTraces(services ? { ...query, services } : query);
    const see = canSee(res);
    const traces = await store.getTraces(ids);
    const out = [];
    for (const id of ids) {
      const spans = (traces.get(id) ?? []).filter((s) => see(s.service));
      if (spans.length > 0) out.push(mergeTrace(spans).map(toZipkinSpan));
    }
    res.json(out);
  });

  router.get('/api/v2/trace/:traceId', read, async (req, res) => {
    const id = traceIdParam(req.params['traceId'] as string, 'traceId');
    const spans = await visibleTrace(res, id);
    if (spans.length === 0)
      throw new HubError('NOT_FOUND', `Trace ${req.params['traceId']} not found`, { where: 'traceId' });
    res.json(spans.map(toZipkinSpan));
  });

  router.get('/api/v2/traceMany', read, async (req, res) => {
    const list = (textParam(req.query, 'traceIds') ?? '').split(',').filter((s) => s !== '');
    if (list.length === 0)
      throw new HubError('BAD_REQUEST', 'Parameter traceIds is required', { where: 'traceIds' });
    const out = [];
    for (const raw of list.slice(0, 1000)) {
      const spans = await visibleTrace(res, traceIdParam(raw, 'traceIds'));
      if (spans.length > 0) out.push(spans.map(toZipkinSpan));
    }
    res.json(out);
  });

  router.get('/api/v2/dependencies', read, async (req, res) => {
    const { endMs, lookbackMs } = timeWindow(req.query, clock.now());
    const see = canSee(res);
    const links = await store.links(Math.max(0, endMs - lookbackMs), endMs);
    res.json(links.filter((l) => see(l.parent) || see(l.child)));
  });

  router.get('/api/v2/autocompleteKeys', read, (_req, res) => res.json([]));
  router.get('/api/v2/autocompleteValues', read, (_req, res) => res.json([]));

  router.get('/api/traces/search', read, async (req, res) => {
    const query = searchQuery(req.query, clock.now());
    const services = await visibleServices(res);
    const ids = await store.findTraces(services ? { ...query, services } : query);
    const see = canSee(res);
    const traces = await store.getTraces(ids);
    const out = [];
    for (const id of ids) {
      const spans = (traces.get(id) ?? []).filter((s) => see(s.service));
      if (spans.length > 0) out.push(traceSummary(assembleTrace(spans), assembler.status(id)));
    }
    res.json({ traces: out, limit: query.limit });
  });

  router.get('/api/traces/:traceId', read, async (req, res) => {
    const id = traceIdParam(req.params['traceId'] as string, 'traceId');
    const see = canSee(res);
    const spans = (await store.getTrace(id)).filter((s) => see(s.service));
    if (spans.length === 0)
      throw new HubError('NOT_FOUND', `Trace ${req.params['traceId']} not found`, { where: 'traceId' });
    const a = assembleTrace(spans);
    const status = assembler.status(id);
    res.json({
      ...traceSummary(a, status),
      end: a.end,
      orphanCount: a.orphanCount,
      skewedCount: a.skewedCount,
      lateSpans: status?.lateSpans ?? 0,
      spans: traceRows(a),
    });
  });

  return router;
}
