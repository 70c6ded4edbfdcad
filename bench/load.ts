/**
 * The benchmark's load: 300 containers × 10 metrics = 3,000 series of a Mesos/Marathon/Docker
 * PaaS, one point every 10 s, in time order, rendered straight into request bodies.
 *
 * Deterministic: the topology and every value come from a seeded PRNG; only the timestamps
 * depend on the moment the load ends at. Cheap: each series' fixed text (metric and tags) is
 * rendered once into a Buffer; a batch is those Buffers copied into one allocation with the
 * step's timestamp and the point's value written between them, so a batch of 1,000 points costs
 * 1,000 small memcpys and 1,000 number-to-string conversions.
 */

export const METRICS = [
  'container.cpu.usage', // cores in use: a rate, 3 decimals
  'container.cpu.throttled', // share of CFS periods throttled, 0..1, 3 decimals
  'container.mem.usage', // bytes, whole pages
  'container.mem.working_set', // bytes
  'container.mem.rss', // bytes
  'container.mem.cache', // bytes
  'container.net.rx_bytes', // counter, bytes
  'container.net.tx_bytes', // counter, bytes
  'container.fs.read_bytes', // counter, bytes
  'container.fs.write_bytes', // counter, bytes
] as const;

export const STEP_SECONDS = 10;

const PROJECTS = ['payments', 'search', 'catalog', 'identity', 'analytics', 'platform'];
const APP_KINDS = ['api', 'worker', 'web', 'scheduler', 'cache'];
const DCS = ['dc1', 'dc2'];
const CLUSTERS_PER_DC = 2;
const HOSTS = 50;
const CONTAINERS_PER_APP = 10;
const PAGE = 4096;
const MIB = 1024 * 1024;

export type LoadFormat = 'json' | 'telnet';

export type LoadOptions = {
  seed: number;
  hours: number;
  /** Timestamp of the last step, in seconds. */
  endSec: number;
  format: LoadFormat;
  batchSize: number;
  /** Prepended to every metric name (default none). */
  metricPrefix?: string;
};

export type Batch = { body: Buffer; points: number };

/** A small, fast, seeded PRNG (mulberry32): floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Container = {
  tags: Record<string, string>;
  cpuLimit: number;
  cpuMean: number;
  cpu: number;
  memLimit: number;
  mem: number;
  memTarget: number;
  rssShare: number;
  activeShare: number;
  /** Bytes/s of rx, tx, fs read, fs write, and their counters. */
  rates: number[];
  rateMeans: number[];
  counters: number[];
};

function hex(rnd: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(rnd() * 16).toString(16);
  return s;
}

/** The 300 containers: 30 apps (6 projects × 5) of 10 containers over 50 hosts in 4 clusters. */
export function topology(seed: number): Container[] {
  const rnd = mulberry32(seed);
  const clusters: { dc: string; cluster: string; hosts: string[] }[] = [];
  for (const dc of DCS)
    for (let c = 0; c < CLUSTERS_PER_DC; c++)
      clusters.push({ dc, cluster: `${dc}-${c === 0 ? 'prod' : 'batch'}`, hosts: [] });
  for (let h = 0; h < HOSTS; h++) {
    const cl = clusters[h % clusters.length]!;
    cl.hosts.push(`${cl.dc}-node${String(h + 1).padStart(3, '0')}.paas.internal`);
  }
  const out: Container[] = [];
  let appIndex = 0;
  for (const project of PROJECTS) {
    for (const kind of APP_KINDS) {
      const app = `${project}-${kind}`;
      const cl = clusters[appIndex++ % clusters.length]!;
      const cpuLimit = [0.5, 1, 2, 4][Math.floor(rnd() * 4)]!;
      const memLimit = [256, 512, 1024, 2048, 4096][Math.floor(rnd() * 5)]! * MIB;
      const busy = 0.1 + rnd() * 0.6;
      for (let i = 0; i < CONTAINERS_PER_APP; i++) {
        const task = `${app}.${hex(rnd, 8)}-${hex(rnd, 4)}-11ee-${hex(rnd, 4)}-${hex(rnd, 12)}`;
        const memTarget = memLimit * (0.3 + rnd() * 0.5);
        const rateMeans = [
          10 ** (3 + rnd() * 4), // rx: 1 kB/s .. 10 MB/s
          10 ** (3 + rnd() * 4), // tx
          10 ** (1 + rnd() * 4), // fs read: 10 B/s .. 100 kB/s
          10 ** (2 + rnd() * 4), // fs write
        ];
        out.push({
          tags: {
            dc: cl.dc,
            cluster: cl.cluster,
            host: cl.hosts[Math.floor(rnd() * cl.hosts.length)]!,
            project,
            app,
            task,
            container: hex(rnd, 12),
          },
          cpuLimit,
          cpuMean: cpuLimit * busy * (0.8 + rnd() * 0.4),
          cpu: cpuLimit * busy,
          memLimit,
          mem: memTarget,
          memTarget,
          rssShare: 0.5 + rnd() * 0.4,
          activeShare: 0.1 + rnd() * 0.4,
          rates: rateMeans.slice(),
          rateMeans,
          counters: rateMeans.map((r) => Math.floor(r * (3_600 + rnd() * 86_400 * 3))),
        });
      }
    }
  }
  return out;
}

const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(x, hi));
const pages = (bytes: number) => Math.round(bytes / PAGE) * PAGE;

/** Decimals each metric is written with (the rest are whole numbers). */
const DECIMALS = [3, 3, 0, 0, 0, 0, 0, 0, 0, 0];

/** One step of every container's random walks; writes the 10 values of each, scaled to integers. */
function advance(containers: Container[], rnd: () => number, out: Float64Array): void {
  // Approximately normal, mean 0, sd 1 (Irwin-Hall of 4 uniforms), without log/sqrt.
  const g = () => (rnd() + rnd() + rnd() + rnd() - 2) * 1.732;
  let k = 0;
  for (const c of containers) {
    c.cpu = clamp(c.cpu + 0.15 * (c.cpuMean - c.cpu) + c.cpuLimit * 0.03 * g(), 0.001, c.cpuLimit);
    const load = c.cpu / c.cpuLimit;
    c.mem = clamp(
      c.mem + 0.05 * (c.memTarget - c.mem) + c.memLimit * 0.004 * g(),
      0.05 * c.memLimit,
      c.memLimit,
    );
    c.rssShare = clamp(c.rssShare + 0.005 * g(), 0.4, 0.95);
    c.activeShare = clamp(c.activeShare + 0.01 * g(), 0.05, 0.6);
    const usage = pages(c.mem);
    const rss = pages(c.mem * c.rssShare);
    const cache = usage - rss;
    out[k++] = Math.round(c.cpu * 1000); // cores, in thousandths
    out[k++] = load > 0.85 ? Math.round((load - 0.85) * 4000) : 0; // thousandths
    out[k++] = usage;
    out[k++] = rss + pages(cache * c.activeShare); // working set
    out[k++] = rss;
    out[k++] = cache;
    for (let i = 0; i < 4; i++) {
      // Log-space walk around the container's mean rate.
      const mean = c.rateMeans[i]!;
      const r = c.rates[i]! * Math.exp(0.1 * g() + 0.05 * Math.log(mean / c.rates[i]!));
      c.rates[i] = r;
      const counter = c.counters[i]! + Math.round(r * STEP_SECONDS);
      c.counters[i] = counter;
      out[k++] = counter;
    }
  }
}

/** Writes a non-negative whole number in decimal; returns the new offset. */
function writeDigits(buf: Buffer, off: number, n: number): number {
  let len = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) len++;
  let x = n;
  for (let i = off + len - 1; i >= off; i--) {
    const q = Math.floor(x / 10);
    buf[i] = 48 + (x - q * 10);
    x = q;
  }
  return off + len;
}

/** Writes n / 10^decimals as JavaScript's String() would (no trailing zeros); returns the offset. */
function writeScaled(buf: Buffer, off: number, n: number, decimals: number): number {
  if (decimals === 0) return writeDigits(buf, off, n);
  const scale = 10 ** decimals;
  const whole = Math.floor(n / scale);
  let frac = n - whole * scale;
  off = writeDigits(buf, off, whole);
  if (frac === 0) return off;
  buf[off++] = 46; // .
  let digits = decimals;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  for (let i = off + digits - 1; i >= off; i--) {
    const q = Math.floor(frac / 10);
    buf[i] = 48 + (frac - q * 10);
    frac = q;
  }
  return off + digits;
}

/** Iterates the load as request bodies of `batchSize` points, in time order. */
export class Load {
  readonly series: number;
  readonly steps: number;
  readonly totalPoints: number;
  readonly startSec: number;
  readonly endSec: number;
  private readonly containers: Container[];
  private readonly rnd: () => number;
  private readonly heads: Buffer[] = [];
  private readonly tails: Buffer[] = [];
  private readonly decimals: Uint8Array;
  private readonly mid: string;
  private readonly maxBatchBytes: number;
  private readonly values: Float64Array;
  private step = 0;
  private pos = 0;
  /** The step's timestamp and the separator after it. */
  private tsMid = Buffer.alloc(0);
  emitted = 0;
  bytes = 0;

  constructor(private readonly options: LoadOptions) {
    const { seed, hours, endSec, format, batchSize } = options;
    const prefix = options.metricPrefix ?? '';
    this.containers = topology(seed);
    this.rnd = mulberry32(seed ^ 0x5eed);
    this.series = this.containers.length * METRICS.length;
    this.steps = Math.max(1, Math.round((hours * 3_600) / STEP_SECONDS));
    this.totalPoints = this.series * this.steps;
    this.endSec = endSec;
    this.startSec = endSec - (this.steps - 1) * STEP_SECONDS;
    this.values = new Float64Array(this.series);
    this.decimals = new Uint8Array(this.series);
    for (let i = 0; i < this.series; i++) this.decimals[i] = DECIMALS[i % METRICS.length]!;
    let maxFixed = 0;
    for (const c of this.containers) {
      for (const m of METRICS) {
        const metric = prefix + m;
        let head: string;
        let tail: string;
        if (format === 'json') {
          head = `{"metric":${JSON.stringify(metric)},"tags":${JSON.stringify(c.tags)},"timestamp":`;
          tail = '}';
        } else {
          head = `put ${metric} `;
          tail = ` ${Object.entries(c.tags)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}\n`;
        }
        const h = Buffer.from(head, 'latin1');
        const t = Buffer.from(tail, 'latin1');
        this.heads.push(h);
        this.tails.push(t);
        maxFixed = Math.max(maxFixed, h.length + t.length);
      }
    }
    this.mid = format === 'json' ? ',"value":' : ' ';
    // Per point: fixed text, separators, a 10-digit timestamp, a value of at most 24 characters.
    this.maxBatchBytes = batchSize * (maxFixed + this.mid.length + 1 + 12 + 24) + 2;
    if (this.containers.length * METRICS.length !== this.series || DECIMALS.length !== METRICS.length)
      throw new Error('the load model is inconsistent');
  }

  get done(): boolean {
    return this.step >= this.steps;
  }

  /** The next body, or undefined when the load is over. */
  next(): Batch | undefined {
    if (this.done) return undefined;
    const { format, batchSize } = this.options;
    const json = format === 'json';
    const buf = Buffer.allocUnsafe(this.maxBatchBytes);
    let off = 0;
    if (json) buf[off++] = 0x5b; // [
    let n = 0;
    while (n < batchSize && this.step < this.steps) {
      if (this.pos === 0) {
        advance(this.containers, this.rnd, this.values);
        this.tsMid = Buffer.from(String(this.startSec + this.step * STEP_SECONDS) + this.mid, 'latin1');
      }
      const s = this.pos;
      if (json && n > 0) buf[off++] = 0x2c; // ,
      off += this.heads[s]!.copy(buf, off);
      off += this.tsMid.copy(buf, off);
      off = writeScaled(buf, off, this.values[s]!, this.decimals[s]!);
      off += this.tails[s]!.copy(buf, off);
      n++;
      if (++this.pos === this.series) {
        this.pos = 0;
        this.step++;
      }
    }
    if (json) buf[off++] = 0x5d; // ]
    this.emitted += n;
    this.bytes += off;
    return { body: buf.subarray(0, off), points: n };
  }
}
