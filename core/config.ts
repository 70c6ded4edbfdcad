/**
 * The one module that reads the environment and the config file. Precedence: command-line
 * flags > environment (OBS_*) > config file > defaults. Everything else gets typed options.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from './duration.ts';
import { HubError } from './errors.ts';

const duration = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  try {
    return parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const port = z.coerce.number().int().min(0).max(65535);

export const configSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: port.default(7070),
    telnetPort: port.default(4242),
    dataDir: z.string().default('./data'),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    maxTags: z.coerce.number().int().min(1).max(64).default(16),
    maxBodyBytes: z.coerce
      .number()
      .int()
      .positive()
      .default(32 * 1024 * 1024),
    store: z
      .object({
        /** `embedded` (DuckDB in the data dir) or `opentsdb` (an OpenTSDB-compatible server: OpenTSDB, VictoriaMetrics). */
        kind: z.enum(['embedded', 'opentsdb']).default('embedded'),
        opentsdb: z
          .object({
            /** Base URL that takes `/api/put`, e.g. http://127.0.0.1:4242 (VictoriaMetrics: its -opentsdbHTTPListenAddr). */
            url: z.string().url().default('http://127.0.0.1:4242'),
            /** Where `/api/query` lives, when another server answers reads. */
            queryUrl: z.string().url().optional(),
            batchSize: z.coerce.number().int().min(1).default(5_000),
            concurrency: z.coerce.number().int().min(1).max(64).default(4),
            /** Write with telnet `put` to host:port instead of HTTP. */
            telnet: z.string().optional(),
            /** VictoriaMetrics' own HTTP address, whose `/metrics` tells the store's size on disk. */
            statsUrl: z.string().url().optional(),
            /**
             * Read through this Prometheus API (VictoriaMetrics' HTTP address) instead of `/api/query`,
             * evaluating OpenTSDB queries in the hub: VictoriaMetrics serves no OpenTSDB reads.
             */
            promReadUrl: z.string().url().optional(),
          })
          .strict()
          .prefault({}),
        hotWindow: duration.default(2 * 3_600_000),
        rawRetention: duration.default(15 * 86_400_000),
        rollup1mRetention: duration.default(90 * 86_400_000),
        rollup1hRetention: duration.default(730 * 86_400_000),
        maintenanceInterval: duration.default(60_000),
        /**
         * The embedded store runs on a thread of its own, so storing points does not hold up the
         * requests (off: on the main thread). A hub given a clock other than the system's (tests)
         * keeps it on the main thread, since the thread has its own clock.
         */
        thread: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    bus: z
      .object({
        /** `embedded` (a durable log in the data dir) or `kafka`. */
        kind: z.enum(['embedded', 'kafka']).default('embedded'),
        kafka: z
          .object({
            brokers: z.array(z.string()).min(1).default(['127.0.0.1:9092']),
            clientId: z.string().default('obs-hub'),
            /** Hubs of one group share the partitions; each record is stored by one of them. */
            group: z.string().default('obs-hubs'),
            partitions: z.coerce.number().int().min(1).default(6),
            retention: duration.default(7 * 86_400_000),
            deadLetterTopic: z.string().default('obs.dead-letter'),
          })
          .strict()
          .prefault({}),
        segmentBytes: z.coerce
          .number()
          .int()
          .min(1024)
          .default(64 * 1024 * 1024),
        retentionBytes: z.coerce
          .number()
          .int()
          .min(1024)
          .default(4 * 1024 * 1024 * 1024),
        retentionAge: duration.default(24 * 3_600_000),
        /** Newest records of each topic also kept in memory for subscribers that keep up. */
        recentBytes: z.coerce
          .number()
          .int()
          .min(0)
          .default(32 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        /** Points per second per token (or user) on ingest, sustained. */
        ingestPointsPerSecond: z.coerce.number().positive().default(2_000_000),
        /** Points one token may send at once. */
        ingestBurst: z.coerce.number().positive().default(4_000_000),
        maxSeriesPerProject: z.coerce.number().int().positive().default(1_000_000),
        /** A client must send its request headers within this time. */
        headersTimeout: duration.default(15_000),
        /** A client must send its whole request within this time. */
        requestTimeout: duration.default(120_000),
        /** A telnet connection silent this long is closed. */
        telnetIdle: duration.default(300_000),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        /** Require authentication even with no user configured (a hub on loopback allows anyone then). */
        required: z.boolean().default(false),
        /** Let telnet `put` in without an `auth <token>` line, for tools that cannot send one (collectd). */
        telnetAnonymous: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    tls: z.object({ cert: z.string(), key: z.string() }).strict().optional(),
    tracing: z
      .object({
        /** Which project each service belongs to: who may see its spans, and the RED metrics' `project` tag. */
        serviceProjects: z.record(z.string(), z.string()).default({}),
        /** `embedded` (DuckDB), `opensearch` or `elasticsearch` for spans and logs. */
        store: z.enum(['embedded', 'opensearch', 'elasticsearch']).default('embedded'),
        /** Bytes of the newest spans the embedded store keeps in memory for trace-by-id (0: none). */
        recentCacheBytes: z.coerce
          .number()
          .int()
          .min(0)
          .default(256 * 1024 * 1024),
        elastic: z
          .object({
            url: z.string().url().default('http://127.0.0.1:9200'),
            indexPrefix: z.string().default('obs'),
            retentionDays: z.coerce.number().int().min(1).default(7),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** A folder of alert rule files (YAML), watched for changes and reloaded on SIGHUP. */
    rules: z.string().optional(),
    /** Where alerts go: routes, receivers, inhibition, on-call (validated by alerting/notify/config.ts). */
    notify: z.unknown().optional(),
    platform: z
      .object({
        /** Orchestrators to act through; none = advice only, from what the agents report. */
        marathon: z
          .object({
            url: z.string().url(),
            user: z.string().optional(),
            password: z.string().optional(),
            /** Scale a locked app with `?force=true` (cancels its deployment). Off by default. */
            forceOnLock: z.boolean().default(false),
          })
          .strict()
          .optional(),
        chronos: z.object({ url: z.string().url() }).strict().optional(),
        /** A Docker Engine API: unix:///var/run/docker.sock or tcp://host:2375. */
        docker: z.object({ host: z.string() }).strict().optional(),
        autoscaleInterval: duration.default(15_000),
        /** Usage over this window decides health. */
        healthWindow: duration.default(60_000),
      })
      .strict()
      .prefault({}),
    agent: z
      .object({
        enabled: z.boolean().default(true),
        interval: duration.default(2_000),
        /** Tags on every point: `dc`, `cluster`; `host` defaults to the machine's name. */
        tags: z.record(z.string(), z.string()).default({}),
        /** `obs agent`: the hub to ship to (its HTTP URL). */
        hub: z.string().url().optional(),
        /** `obs agent`: a token with the ingest scope. */
        token: z.string().optional(),
        /** Where batches wait while the hub is unreachable (default DATA_DIR/spool). */
        spoolDir: z.string().optional(),
        spoolMaxBytes: z.coerce
          .number()
          .int()
          .min(65_536)
          .default(256 * 1024 * 1024),
        /** Read containers' cgroups (under `cgroupRoot`, default /sys/fs/cgroup). */
        containers: z.boolean().default(true),
        cgroupRoot: z.string().optional(),
        /** Docker Engine API for names and labels, e.g. unix:///var/run/docker.sock. */
        docker: z.string().optional(),
        /** nginx access logs to tail (routing nodes). */
        nginxLogs: z.array(z.string()).default([]),
        /** nginx's own log_format string, or `combined` / `platform` (see collector/nginx/README.md). */
        nginxFormat: z.string().default('platform'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type HubConfig = z.infer<typeof configSchema>;

/** Flags as the command line gives them: only what the user typed. */
export type ConfigFlags = {
  config?: string;
  host?: string;
  port?: string | number;
  telnetPort?: string | number;
  dataDir?: string;
  logLevel?: string;
  /** `--no-agent`: do not run the agent for this machine. */
  agent?: boolean;
  hub?: string;
  token?: string;
  spoolDir?: string;
  spoolMaxBytes?: string | number;
  interval?: string;
  cgroupRoot?: string;
  docker?: string;
  /** `--tag k=v`, repeatable. */
  tag?: string[];
  nginxLog?: string[];
  nginxFormat?: string;
  rules?: string;
  /** `--bus embedded|kafka`. */
  bus?: string;
  kafkaBrokers?: string;
  /** `--metric-store embedded|opentsdb`. */
  metricStore?: string;
  opentsdbUrl?: string;
  /** `--span-store embedded|opensearch|elasticsearch`. */
  spanStore?: string;
  elasticUrl?: string;
  /** `--orchestrator marathon|chronos|docker`, repeatable; the URL flags imply their orchestrator. */
  orchestrator?: string[];
  marathonUrl?: string;
  chronosUrl?: string;
  dockerHost?: string;
  autoscaleInterval?: string;
};

const AGENT_FLAGS = [
  'hub',
  'token',
  'spoolDir',
  'spoolMaxBytes',
  'interval',
  'cgroupRoot',
  'docker',
] as const;

export type ConfigSources = {
  flags?: ConfigFlags;
  env?: Record<string, string | undefined>;
  readFile?: (path: string) => string;
};

const ENV_KEYS: [string, keyof ConfigFlags][] = [
  ['OBS_CONFIG', 'config'],
  ['OBS_HOST', 'host'],
  ['OBS_PORT', 'port'],
  ['OBS_TELNET_PORT', 'telnetPort'],
  ['OBS_DATA_DIR', 'dataDir'],
  ['OBS_LOG_LEVEL', 'logLevel'],
  ['OBS_HUB', 'hub'],
  ['OBS_TOKEN', 'token'],
  ['OBS_RULES', 'rules'],
];

function pick(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== ''));
}

function readConfigFile(path: string, readFile: (p: string) => string): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new HubError('INVALID_CONFIG', `Cannot read config file ${path}: ${(e as Error).message}`, {
      cause: e,
      where: path,
    });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (e) {
    throw new HubError('INVALID_CONFIG', `Config file ${path} is not valid YAML: ${(e as Error).message}`, {
      cause: e,
      where: path,
    });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new HubError('INVALID_CONFIG', `Config file ${path} must hold a mapping of settings`, {
      where: path,
    });
  return parsed as Record<string, unknown>;
}

function parseTagFlags(specs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0)
      throw new HubError('INVALID_CONFIG', `Invalid --tag "${spec}": expected key=value`, { where: '--tag' });
    out[spec.slice(0, eq)] = spec.slice(eq + 1);
  }
  return out;
}

type Section = Record<string, unknown>;
const section = (file: Section, key: string): Section => ({ ...((file[key] as Section | undefined) ?? {}) });

/** Folds the engine and orchestrator flags into their config sections (flags win over the file). */
function applyScaleOutFlags(file: Section, overrides: Section): Section {
  const take = (key: string): unknown => {
    const v = overrides[key];
    delete overrides[key];
    return v;
  };
  const bus = section(file, 'bus');
  const store = section(file, 'store');
  const tracing = section(file, 'tracing');
  const platform = section(file, 'platform');
  const busKind = take('bus');
  if (busKind !== undefined) bus['kind'] = busKind;
  const brokers = take('kafkaBrokers') as string | undefined;
  if (brokers) bus['kafka'] = { ...section(bus, 'kafka'), brokers: brokers.split(',').map((b) => b.trim()) };
  const storeKind = take('metricStore');
  if (storeKind !== undefined) store['kind'] = storeKind;
  const tsdbUrl = take('opentsdbUrl');
  if (tsdbUrl !== undefined) store['opentsdb'] = { ...section(store, 'opentsdb'), url: tsdbUrl };
  const spanStore = take('spanStore');
  if (spanStore !== undefined) tracing['store'] = spanStore;
  const elasticUrl = take('elasticUrl');
  if (elasticUrl !== undefined) tracing['elastic'] = { ...section(tracing, 'elastic'), url: elasticUrl };
  const named = new Set((take('orchestrator') as string[] | undefined) ?? []);
  for (const name of named)
    if (!['marathon', 'chronos', 'docker'].includes(name))
      throw new HubError('INVALID_CONFIG', `Unknown --orchestrator "${name}": marathon, chronos or docker`, {
        where: '--orchestrator',
      });
  const urls: [string, string, string][] = [
    ['marathon', 'marathonUrl', 'url'],
    ['chronos', 'chronosUrl', 'url'],
    ['docker', 'dockerHost', 'host'],
  ];
  for (const [name, flag, key] of urls) {
    const value = take(flag);
    if (value !== undefined) platform[name] = { ...section(platform, name), [key]: value };
    else if (named.has(name) && platform[name] === undefined) {
      if (name !== 'docker')
        throw new HubError('INVALID_CONFIG', `--orchestrator ${name} needs --${name}-url`, {
          where: `--${name}-url`,
        });
      platform[name] = { host: 'unix:///var/run/docker.sock' };
    }
  }
  const interval = take('autoscaleInterval');
  if (interval !== undefined) platform['autoscaleInterval'] = interval;
  return { bus, store, tracing, platform };
}

/** Builds the hub's configuration from flags, environment, config file and defaults. */
export function loadConfig(sources: ConfigSources = {}): HubConfig {
  const env = sources.env ?? process.env;
  const fromEnv: Record<string, unknown> = {};
  for (const [name, key] of ENV_KEYS) fromEnv[key] = env[name];
  const flags = pick({ ...(sources.flags ?? {}) });
  const overrides: Record<string, unknown> = { ...pick(fromEnv), ...flags };
  delete overrides['agent'];
  const configPath = overrides['config'] as string | undefined;
  delete overrides['config'];
  const file = configPath
    ? readConfigFile(configPath, sources.readFile ?? ((p) => readFileSync(p, 'utf8')))
    : {};
  const agent: Record<string, unknown> = { ...((file['agent'] as object | undefined) ?? {}) };
  for (const key of AGENT_FLAGS) {
    if (overrides[key] !== undefined) agent[key] = overrides[key];
    delete overrides[key];
  }
  const tags = overrides['tag'] as string[] | undefined;
  delete overrides['tag'];
  if (tags && tags.length > 0)
    agent['tags'] = { ...((agent['tags'] as object | undefined) ?? {}), ...parseTagFlags(tags) };
  if (flags['agent'] === false) agent['enabled'] = false;
  const nginxLogs = overrides['nginxLog'] as string[] | undefined;
  delete overrides['nginxLog'];
  if (nginxLogs && nginxLogs.length > 0) agent['nginxLogs'] = nginxLogs;
  if (overrides['nginxFormat'] !== undefined) agent['nginxFormat'] = overrides['nginxFormat'];
  delete overrides['nginxFormat'];
  const sections = applyScaleOutFlags(file, overrides);
  const merged: Record<string, unknown> = { ...file, ...overrides, ...sections, agent };
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.join('.') || '(root)';
    const origin = configPath ? ` (config file ${configPath}, flags or OBS_* environment)` : '';
    throw new HubError('INVALID_CONFIG', `Invalid setting ${where}: ${issue.message}${origin}`, { where });
  }
  const config = result.data;
  if (!config.agent.tags['host']) config.agent.tags['host'] = hostname();
  return config;
}
