/**
 * The demo's link to a hub: a check that the hub takes spans before anything starts (with an error
 * that says what to do), the hub pages to look at, and an exporter wrapper that names the Bus as
 * the remote service of messaging spans.
 */
import { HubError } from '../../core/errors.ts';
import type { Span } from '../../core/model.ts';
import type { TraceSpan } from '../model.ts';
import type { SpanExporter } from '../tracer/exporter.ts';

/** `url` with a trailing slash, so that page names resolve under it. */
export function hubBase(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch (e) {
    throw new HubError('BAD_REQUEST', `Not a hub URL: "${url}"`, { where: 'hub', cause: e });
  }
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  u.search = '';
  u.hash = '';
  return u.toString();
}

export type HubPages = { traces: string; serviceMap: string; spans: string; dependencies: string };

export function hubPages(hub: string): HubPages {
  const base = hubBase(hub);
  return {
    traces: new URL('traces.html?service=pushapi', base).toString(),
    serviceMap: new URL('service-map.html', base).toString(),
    spans: new URL('api/v2/spans', base).toString(),
    dependencies: new URL('api/v2/dependencies', base).toString(),
  };
}

/** What a failed span post means for the person running the demo. */
export function hubRefusal(hub: string, status: number, text: string): HubError {
  const where = hubPages(hub).spans;
  if (status === 401)
    return new HubError(
      'UNAUTHORIZED',
      `The hub at ${hub} needs a token: create one with "obs tokens create demo --scope ingest" and pass --token`,
      { where },
    );
  if (status === 403)
    return new HubError(
      'FORBIDDEN',
      `The token was refused by the hub at ${hub}: it needs the ingest scope`,
      {
        where,
      },
    );
  return new HubError('UPSTREAM_FAILED', `POST ${where} answered ${status}: ${text.slice(0, 200)}`, {
    where,
  });
}

/**
 * Posts an empty span list to the hub: resolves when the hub would take spans, throws a `HubError`
 * that says what to do otherwise (start a hub, pass a token).
 */
export async function checkHub(hub: string, token?: string, fetchFn: typeof fetch = fetch): Promise<void> {
  const where = hubPages(hub).spans;
  let res: Response;
  try {
    res = await fetchFn(where, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: '[]',
      signal: AbortSignal.timeout(5_000),
    });
  } catch (e) {
    throw new HubError(
      'UNAVAILABLE',
      `No hub answers at ${hubBase(hub)} (${(e as Error).message}): start one with "npm start", or pass --hub`,
      { where, cause: e, canRetry: true },
    );
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) throw hubRefusal(hub, res.status, text);
}

/**
 * Names `broker` as the remote service of producer and consumer spans, as Zipkin's messaging
 * instrumentation does with its broker: the dependency links then go service → broker → service,
 * and the service map shows the Bus between pushapi and the worker. The tracer has no field for it.
 */
export function withBroker(exporter: SpanExporter, broker: string): SpanExporter {
  const named = (s: Span): TraceSpan =>
    s.kind === 'producer' || s.kind === 'consumer' ? { ...s, remoteService: broker } : s;
  return {
    export: (spans) => exporter.export(spans.map(named)),
    flush: () => exporter.flush(),
    shutdown: () => exporter.shutdown(),
  };
}
