/**
 * Writes a realistic nginx access log in the `platform` format (combined + request time, upstream
 * response time, host, upstream address), as a routing node of the platform writes it:
 *
 * - 48 vhosts, each proxying to one app of 2–8 Marathon tasks (`10.x.y.z:31xxx`);
 * - status mix of a busy site: mostly 200, some 301/302/304, 404, 499, and 5xx (500, 502, 503,
 *   504); a slice of requests answered by nginx itself (`return 503`, static files, redirects)
 *   has no upstream (`-` in both upstream fields);
 * - request times log-normal around 30 ms with a long tail, upstream time a little below;
 * - 1 % retries (`0.012, 0.034` over two tasks), 0.2 % internal redirects (`0.003 : 0.040`);
 * - realistic request lines, referers and user agents, a few with nginx's `\xHH` escapes.
 *
 * Deterministic for a seed. Usage: `tsx bench/nginx/generate.ts [--lines N] [--seed N] [--out FILE]`
 * (default 2,000,000 lines to $TMPDIR/obs-nginx-bench/access.log).
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const DEFAULT_LOG = join(tmpdir(), 'obs-nginx-bench', 'access.log');

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36',
  'okhttp/4.12.0',
  'Go-http-client/1.1',
  'curl/7.88.1',
  'python-requests/2.31.0',
  'kube-probe/1.29',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  '-',
];
const PATHS = [
  '/',
  '/api/v1/orders',
  '/api/v1/orders/{id}',
  '/api/v1/users/{id}/profile',
  '/api/v2/search?q={q}&page={n}',
  '/static/js/app.{hex}.js',
  '/static/css/main.{hex}.css',
  '/images/products/{id}.jpg',
  '/health',
  '/login',
  '/cart/add?sku={id}&qty={n}',
  '/graphql',
];
const WORDS = ['shoes', 'red%20dress', 'laptop', 'caf\\xC3\\xA9', 'tv', 'q\\x22x', 'garden', 'phone+case'];

type App = { vhost: string; tasks: string[] };

function makeApps(random: () => number): App[] {
  const apps: App[] = [];
  const projects = ['shop', 'billing', 'search', 'media', 'auth', 'mail', 'report', 'chat'];
  const roles = ['web', 'api', 'admin', 'static', 'ws', 'cdn'];
  for (const p of projects)
    for (const r of roles) {
      const n = 2 + Math.floor(random() * 7);
      const tasks: string[] = [];
      for (let i = 0; i < n; i++)
        tasks.push(
          `10.${1 + Math.floor(random() * 3)}.${Math.floor(random() * 250)}.${2 + Math.floor(random() * 250)}:${31000 + Math.floor(random() * 1000)}`,
        );
      apps.push({ vhost: `${r}.${p}.paas.example.com`, tasks });
    }
  return apps;
}

const pad = (n: number) => (n < 10 ? '0' + n : String(n));

function timeLocal(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** Log-normal seconds with median `median` and shape `sigma`, rounded to ms as nginx does. */
function logNormal(random: () => number, median: number, sigma: number): number {
  const u = Math.max(random(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  return Math.min(120, Math.round(median * Math.exp(sigma * z) * 1000) / 1000);
}

function pickStatus(r: number): number {
  if (r < 0.83) return 200;
  if (r < 0.87) return 304;
  if (r < 0.89) return 301;
  if (r < 0.9) return 302;
  if (r < 0.94) return 404;
  if (r < 0.95) return 401;
  if (r < 0.955) return 499;
  if (r < 0.965) return 500;
  if (r < 0.975) return 502;
  if (r < 0.993) return 503;
  return 504;
}

/** Returns a function that makes the next line (no newline). */
export function lineMaker(seed = 42, startMs = Date.UTC(2026, 10, 26, 20, 0, 0)): () => string {
  const random = prng(seed);
  const apps = makeApps(random);
  let now = startMs;
  const fill = (path: string) =>
    path
      .replace('{id}', String(Math.floor(random() * 100000)))
      .replace('{q}', WORDS[Math.floor(random() * WORDS.length)]!)
      .replace('{n}', String(1 + Math.floor(random() * 9)))
      .replace('{hex}', Math.floor(random() * 0xffffffff).toString(16));
  return () => {
    now += Math.floor(random() * 4);
    const app = apps[Math.floor(random() * random() * apps.length)]!;
    const status = pickStatus(random());
    const path = fill(PATHS[Math.floor(random() * PATHS.length)]!);
    const method = path.startsWith('/api') && random() < 0.3 ? 'POST' : 'GET';
    const ip = `${1 + Math.floor(random() * 223)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`;
    const user = random() < 0.02 ? 'alice' : '-';
    const bytes = status === 304 || status === 499 ? 0 : Math.floor(200 + random() * random() * 60000);
    const referer = random() < 0.4 ? `https://${app.vhost}/` : '-';
    const agent = AGENTS[Math.floor(random() * AGENTS.length)]!;
    const requestTime = logNormal(random, status >= 500 ? 0.2 : 0.03, 1.1);
    const nginxOnly =
      status === 301 || status === 302 || (status === 503 && random() < 0.5) || random() < 0.03;
    let upstreamTime: string;
    let upstreamAddr: string;
    const task = () => app.tasks[Math.floor(random() * app.tasks.length)]!;
    if (nginxOnly) {
      upstreamTime = '-';
      upstreamAddr = '-';
    } else {
      const r = random();
      const ms = (seconds: number) => Math.max(0, Math.round(seconds * 1000) / 1000).toFixed(3);
      const ut = ms(requestTime - random() * 0.002);
      if (r < 0.01) {
        // A failed first try, then the answer: the tries add up to about the request time.
        const first = Math.round(random() * Math.min(30, requestTime * 500)) / 1000;
        upstreamTime = `${ms(first)}, ${ms(requestTime - first - random() * 0.002)}`;
        upstreamAddr = `${task()}, ${task()}`;
      } else if (r < 0.012) {
        upstreamTime = `${ms(Math.min(0.003, requestTime / 2))} : ${ms(requestTime - 0.003 - random() * 0.002)}`;
        upstreamAddr = `${task()} : ${task()}`;
      } else if (status === 504 && r < 0.1) {
        upstreamTime = '-';
        upstreamAddr = task();
      } else {
        upstreamTime = ut;
        upstreamAddr = task();
      }
    }
    return (
      `${ip} - ${user} [${timeLocal(now)}] "${method} ${path} HTTP/1.1" ${status} ${bytes} ` +
      `"${referer}" "${agent}" ${requestTime.toFixed(3)} ${upstreamTime} ${app.vhost} ${upstreamAddr}`
    );
  };
}

/** Writes `lines` lines to `out`; resolves with the byte count. */
export async function generateLog(out: string, lines: number, seed = 42): Promise<number> {
  mkdirSync(dirname(out), { recursive: true });
  const stream = createWriteStream(out);
  const next = lineMaker(seed);
  let bytes = 0;
  for (let done = 0; done < lines; ) {
    const n = Math.min(10_000, lines - done);
    let chunk = '';
    for (let i = 0; i < n; i++) chunk += next() + '\n';
    bytes += Buffer.byteLength(chunk);
    done += n;
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
  return bytes;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      lines: { type: 'string', default: '2000000' },
      seed: { type: 'string', default: '42' },
      out: { type: 'string', default: DEFAULT_LOG },
    },
  });
  const lines = Number(values.lines);
  const bytes = await generateLog(values.out!, lines, Number(values.seed));
  process.stdout.write(`wrote ${lines} lines, ${(bytes / 1e6).toFixed(1)} MB to ${values.out}\n`);
}
