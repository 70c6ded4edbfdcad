/**
 * An Elasticsearch CONTRACT SERVER for tests — it is not Elasticsearch (which cannot run here).
 * It answers the REST endpoints the hub's `@elastic/elasticsearch` adapter calls, in the shapes
 * Elasticsearch's API reference documents, and checks the requests it gets:
 * - root info, with `X-Elastic-Product: Elasticsearch` on every answer, the header the 9.x client
 *   checks before it accepts any answer (@elastic/transport `middleware/ProductCheck.js`):
 *   https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-info
 * - `PUT /_index_template/<name>` (composable templates; new indices take the mappings of the
 *   highest-priority match): https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-put-index-template
 * - `POST /_bulk`: NDJSON that must end with a newline, `index`/`create` actions, per-item results
 *   (`status`, `result`, `error.type`/`error.reason`) and `errors: true` when one failed; a document
 *   that does not fit the mapping gets a 400 `document_parsing_exception` item while the others are
 *   stored: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk ; a busy
 *   node's 429 `es_rejected_execution_exception` (`rejectNextItems`):
 *   https://www.elastic.co/docs/troubleshoot/elasticsearch/rejected-requests
 * - `GET|POST /<indices>/_search` with `ignore_unavailable`, hits, `terms` and `composite` aggregations:
 *   https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-search ,
 *   https://www.elastic.co/docs/reference/aggregations/search-aggregations-bucket-terms-aggregation
 * - `GET /_cat/indices/<pattern>?format=json`:
 *   https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-cat-indices
 * - `PUT /<index>` and `DELETE /<index>[,<index>]`:
 *   https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-create ,
 *   https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-delete
 * - REST compatibility headers (`compatible-with=9`):
 *   https://www.elastic.co/docs/reference/elasticsearch/rest-apis/compatibility
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  aggregation,
  checkDoc,
  compareBy,
  type Doc,
  EsError,
  type MemoryIndex,
  matches,
  newId,
  resolveIndices,
  sortSpecs,
  type Template,
  templateFor,
} from './elasticsearch-contract-model.ts';

export type RecordedRequest = { method: string; path: string; contentType: string; body: string };

export type ElasticsearchContractServer = {
  url: string;
  /** Every request received, in order (path includes the query string). */
  requests: RecordedRequest[];
  indices: Map<string, MemoryIndex>;
  templates: Map<string, Template>;
  /** Answers the next `count` bulk items with 429 `es_rejected_execution_exception`. */
  rejectNextItems(count: number): void;
  close(): Promise<void>;
};

const VERSION = '9.1.0';

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): Record<string, unknown> {
  if (text === '') return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new EsError(
      400,
      'x_content_parse_exception',
      `Failed to parse request body: ${(err as Error).message}`,
    );
  }
}

type Ctx = {
  state: ElasticsearchContractServer;
  rejecting: { count: number };
};

function createIndex(ctx: Ctx, name: string): MemoryIndex {
  const idx: MemoryIndex = {
    name,
    mappings: templateFor(ctx.state.templates, name),
    docs: new Map(),
    seq: 0,
  };
  ctx.state.indices.set(name, idx);
  return idx;
}

function bulkItem(ctx: Ctx, action: string, meta: Doc, source: Doc): Doc {
  const index = String(meta['_index'] ?? '');
  const id = meta['_id'] === undefined ? newId() : String(meta['_id']);
  const base = { _index: index, _id: id };
  if (ctx.rejecting.count > 0) {
    ctx.rejecting.count--;
    const reason = `rejected execution of coordinating operation [${index}]`;
    return { ...base, status: 429, error: { type: 'es_rejected_execution_exception', reason } };
  }
  const idx = ctx.state.indices.get(index) ?? createIndex(ctx, index);
  try {
    checkDoc(idx.mappings, id, source);
  } catch (err) {
    const e = err as EsError;
    return { ...base, status: e.status, error: { type: e.type, reason: e.message, index } };
  }
  if (action === 'create' && idx.docs.has(id)) {
    const reason = `[${id}]: version conflict, document already exists (current version [1])`;
    return { ...base, status: 409, error: { type: 'version_conflict_engine_exception', reason, index } };
  }
  const existed = idx.docs.has(id);
  idx.docs.set(id, source);
  return {
    ...base,
    _version: 1,
    result: existed ? 'updated' : 'created',
    _shards: { total: 1, successful: 1, failed: 0 },
    _seq_no: idx.seq++,
    _primary_term: 1,
    status: existed ? 200 : 201,
  };
}

function bulk(ctx: Ctx, body: string, contentType: string): Doc {
  if (!/x-ndjson/.test(contentType))
    throw new EsError(406, 'media_type_header_exception', `Content-Type [${contentType}] is not ndjson`);
  if (!body.endsWith('\n'))
    throw new EsError(
      400,
      'illegal_argument_exception',
      'The bulk request must be terminated by a newline [\\n]',
    );
  const lines = body.split('\n').filter((l) => l !== '');
  const items: Doc[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    const [action, meta] = Object.entries(parseJson(lines[i]!))[0] ?? [];
    if (action !== 'index' && action !== 'create')
      throw new EsError(400, 'illegal_argument_exception', `Malformed action/metadata line [${i + 1}]`);
    items.push({ [action]: bulkItem(ctx, action, meta as Doc, parseJson(lines[i + 1] ?? '')) });
  }
  const errors = items.some((it) => ((Object.values(it)[0] as Doc)['status'] as number) >= 300);
  return { errors, took: 1, items };
}

function search(ctx: Ctx, target: string, params: URLSearchParams, body: Doc): Doc {
  const indices = resolveIndices(ctx.state.indices, target, params.get('ignore_unavailable') === 'true');
  const hits: Doc[] = [];
  for (const idx of indices)
    for (const [id, source] of idx.docs)
      if (matches(source, body['query'])) hits.push({ _index: idx.name, _id: id, _source: source });
  const specs = sortSpecs(body['sort']);
  if (specs.length > 0) hits.sort(compareBy(specs, (h, f) => (h['_source'] as Doc)[f]));
  const size = (body['size'] as number | undefined) ?? 10;
  const answer: Doc = {
    took: 1,
    timed_out: false,
    _shards: { total: indices.length, successful: indices.length, skipped: 0, failed: 0 },
    hits: {
      total: { value: hits.length, relation: 'eq' },
      max_score: specs.length > 0 || hits.length === 0 ? null : 0,
      hits: hits.slice(0, size).map((h) => ({ ...h, _score: specs.length > 0 ? null : 0 })),
    },
  };
  const aggs = Object.entries((body['aggs'] ?? body['aggregations'] ?? {}) as Doc);
  if (aggs.length > 0) {
    const sources = hits.map((h) => h['_source'] as Doc);
    answer['aggregations'] = Object.fromEntries(aggs.map(([n, a]) => [n, aggregation(sources, n, a)]));
  }
  return answer;
}

function route(ctx: Ctx, method: string, url: URL, body: string, contentType: string): [number, unknown] {
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const { state } = ctx;
  const [first, second] = parts;
  if (parts.length === 0 && (method === 'GET' || method === 'HEAD')) return [200, infoBody()];
  if (first === '_index_template' && second && parts.length === 2) {
    if (method === 'DELETE') return [state.templates.delete(second) ? 200 : 404, { acknowledged: true }];
    const t = parseJson(body);
    const patterns = t['index_patterns'];
    if (method !== 'PUT' || !Array.isArray(patterns) || patterns.length === 0)
      throw new EsError(
        400,
        'action_request_validation_exception',
        'Validation Failed: 1: index patterns are missing;',
      );
    const mappings = ((t['template'] as Doc | undefined)?.['mappings'] ?? {}) as Template['mappings'];
    state.templates.set(second, { name: second, patterns, priority: Number(t['priority'] ?? 0), mappings });
    return [200, { acknowledged: true }];
  }
  if (first === '_bulk' && (method === 'POST' || method === 'PUT'))
    return [200, bulk(ctx, body, contentType)];
  if (first === '_cat' && second === 'indices' && method === 'GET') {
    const found = resolveIndices(state.indices, parts[2] ?? '*', true);
    return [200, found.map((i) => ({ index: i.name }))];
  }
  if (first && second === '_search' && (method === 'GET' || method === 'POST'))
    return [200, search(ctx, first, url.searchParams, parseJson(body))];
  if (first && !first.startsWith('_') && parts.length === 1) {
    if (method === 'DELETE') {
      for (const idx of resolveIndices(state.indices, first, false)) state.indices.delete(idx.name);
      return [200, { acknowledged: true }];
    }
    if (method === 'PUT') {
      if (state.indices.has(first))
        throw new EsError(400, 'resource_already_exists_exception', `index [${first}] already exists`);
      createIndex(ctx, first);
      return [200, { acknowledged: true, shards_acknowledged: true, index: first }];
    }
  }
  throw new EsError(
    405,
    'illegal_argument_exception',
    `no handler found for uri [${url.pathname}] and method [${method}]`,
  );
}

function infoBody(): Doc {
  return {
    name: 'contract-node',
    cluster_name: 'elasticsearch-contract',
    cluster_uuid: 'contract-uuid',
    version: { number: VERSION, build_flavor: 'default', build_type: 'docker', lucene_version: '10.2.2' },
    tagline: 'You Know, for Search',
  };
}

/** Starts the contract server on 127.0.0.1 (a free port unless `port` is given). */
export async function startElasticsearchContractServer(
  options: { port?: number } = {},
): Promise<ElasticsearchContractServer> {
  const ctx: Ctx = { state: undefined as unknown as ElasticsearchContractServer, rejecting: { count: 0 } };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const contentType = req.headers['content-type'] ?? '';
    ctx.state.requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', contentType, body });
    const compat = /compatible-with=(\d+)/.exec(String(req.headers['accept'] ?? ''))?.[1];
    let status: number;
    let answer: unknown;
    try {
      if (compat !== undefined && compat !== '8' && compat !== '9')
        throw new EsError(
          400,
          'media_type_header_exception',
          `Accept version must be either version 8 or 9, but found ${compat}`,
        );
      [status, answer] = route(
        ctx,
        req.method ?? 'GET',
        new URL(req.url ?? '/', 'http://x'),
        body,
        contentType,
      );
    } catch (err) {
      const e = err instanceof EsError ? err : new EsError(500, 'exception', String(err));
      [status, answer] = [e.status, e.body()];
    }
    res.writeHead(status, {
      'content-type': compat
        ? `application/vnd.elasticsearch+json;compatible-with=${compat}`
        : 'application/json',
      'x-elastic-product': 'Elasticsearch',
    });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify(answer));
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  ctx.state = {
    url: `http://127.0.0.1:${port}`,
    requests: [],
    indices: new Map(),
    templates: new Map(),
    rejectNextItems(count) {
      ctx.rejecting.count = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return ctx.state;
}
