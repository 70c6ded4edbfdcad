/**
 * The bench's HTTP client: keep-alive agents (this module owns every one, so the run can close
 * them all at its end), one request, and one sample scraped from `/metrics`.
 */
import http from 'node:http';
import { CONNECTIONS } from './options.ts';

const agents = new Set<http.Agent>();
export function newAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  agents.add(agent);
  return agent;
}

/** Closes the sockets of every agent made so far. */
export function destroyAgents(): void {
  for (const a of agents) a.destroy();
}

export type Reply = { status: number; body: Buffer };
export function request(
  agent: http.Agent,
  port: number,
  method: string,
  path: string,
  body?: Buffer | string,
  timeoutMs = 300_000,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = {};
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One sample of a Prometheus text exposition, e.g. `vm_rows_inserted_total{type="opentsdb"}`. */
export async function scrape(agent: http.Agent, port: number, sample: string): Promise<number> {
  const r = await request(agent, port, 'GET', '/metrics', undefined, 30_000);
  if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}`);
  const [name, labels] = sample.includes('{') ? [sample.slice(0, sample.indexOf('{')), sample] : [sample, ''];
  const wanted = labels ? [...labels.matchAll(/(\w+)="([^"]*)"/g)].map((m) => `${m[1]}="${m[2]}"`) : [];
  let total = 0;
  for (const line of r.body.toString('utf8').split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (!wanted.every((w) => rest.includes(w))) continue;
    total += Number(rest.slice(rest.lastIndexOf(' ') + 1));
  }
  return total;
}
