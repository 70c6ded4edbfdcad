/**
 * The platform's app model: validation of an orchestrator-neutral app definition, the autoscaling
 * policy and app type read from an app's labels, and the app id of an agent's tags. Pure: every
 * function returns its errors (all of them at once, each naming the field) instead of throwing.
 */
import { parseDuration } from '../core/duration.ts';
import { type AppType, type FieldError, parseAppId, type Tags } from '../core/model.ts';
import type { AppSpec, AutoscalePolicy, HealthCheckSpec } from './types.ts';

export const APP_TYPES: readonly AppType[] = ['WEB', 'Cron', 'Task', 'Worker', 'Service'];
/** Below this a JVM or even a shell in a container is killed at start; Marathon's own floor is 32. */
export const MIN_MEM_MIB = 32;
export const TYPE_LABEL = 'obs.type';
export const AUTOSCALE_LABEL = 'obs.autoscale';

const SPEC_KEYS = new Set([
  'id',
  'type',
  'image',
  'cmd',
  'cpus',
  'mem',
  'instances',
  'ports',
  'healthCheck',
  'labels',
  'env',
  'schedule',
]);
const HEALTH_KEYS = new Set([
  'protocol',
  'path',
  'portIndex',
  'command',
  'gracePeriodSeconds',
  'intervalSeconds',
  'timeoutSeconds',
  'maxConsecutiveFailures',
]);
const PROTOCOLS = ['HTTP', 'TCP', 'COMMAND'] as const;

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/** The app type named by the `obs.type` label (case-insensitive), WEB when absent or unknown. */
export function appTypeOf(labels?: Readonly<Record<string, string>>): AppType {
  const raw = labels?.[TYPE_LABEL]?.trim().toLowerCase();
  return APP_TYPES.find((t) => t.toLowerCase() === raw) ?? 'WEB';
}

/**
 * `/project/app` of a point's or container's tags (the agent's `project` and `app` tags), or
 * undefined when either is missing. The agent keeps nested app names (`api/v2`) whole.
 */
export function appIdOfTags(tags: Readonly<Tags>): string | undefined {
  const project = tags['project'];
  const app = tags['app'];
  if (!project || !app) return undefined;
  return `/${project}/${app}`;
}

/** `R[n]/start/period`: ISO 8601 repeating interval as Chronos reads it. */
const SCHEDULE_RE = /^R(\d*)\/([^/]+)\/(P[^/]*)$/;
const START_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const PERIOD_RE =
  /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** Why `schedule` is not an ISO 8601 repeating interval, or undefined when it is one. */
export function scheduleError(schedule: string): string | undefined {
  const m = SCHEDULE_RE.exec(schedule);
  if (!m) return `schedule "${schedule}" is not an ISO 8601 repeating interval R[n]/start/period`;
  const start = m[2]!;
  if (!START_RE.test(start) || Number.isNaN(Date.parse(start)))
    return `schedule start "${start}" is not an ISO 8601 date-time with a zone (2026-11-26T00:00:00Z)`;
  const period = PERIOD_RE.exec(m[3]!);
  if (!period || m[3] === 'P' || m[3]!.endsWith('T'))
    return `schedule period "${m[3]}" is not an ISO 8601 duration (PT1H, P1D)`;
  if (period.slice(1).every((n) => n === undefined || Number(n) === 0))
    return `schedule period "${m[3]}" must be longer than zero`;
  return undefined;
}

function checkStringMap(value: unknown, field: string, errors: FieldError[]): Record<string, string> {
  if (!isObject(value)) {
    errors.push({ field, message: `${field} must be an object of strings` });
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string')
      errors.push({ field: `${field}.${k}`, message: `${field}.${k} must be a string` });
    else out[k] = v;
  }
  return out;
}

function checkPorts(value: unknown, errors: FieldError[]): number[] {
  if (!Array.isArray(value)) {
    errors.push({ field: 'ports', message: 'ports must be an array of port numbers' });
    return [];
  }
  const seen = new Set<number>();
  value.forEach((p, i) => {
    const field = `ports[${i}]`;
    if (!Number.isInteger(p) || (p as number) < 0 || (p as number) > 65535)
      errors.push({ field, message: `${field} must be an integer port 0..65535 (0 = any)` });
    else if (p !== 0 && seen.has(p as number))
      errors.push({ field, message: `${field} ${p} is listed twice` });
    else seen.add(p as number);
  });
  return value as number[];
}

function checkSeconds(h: Obj, key: string, min: number, errors: FieldError[]): void {
  const v = h[key];
  if (v === undefined) return;
  if (!Number.isInteger(v) || (v as number) < min)
    errors.push({ field: `healthCheck.${key}`, message: `healthCheck.${key} must be an integer ≥ ${min}` });
}

function checkHealthCheck(
  value: unknown,
  ports: number[],
  errors: FieldError[],
): HealthCheckSpec | undefined {
  if (!isObject(value)) {
    errors.push({ field: 'healthCheck', message: 'healthCheck must be an object' });
    return undefined;
  }
  for (const k of Object.keys(value))
    if (!HEALTH_KEYS.has(k))
      errors.push({ field: `healthCheck.${k}`, message: `healthCheck.${k} is not a known field` });
  const protocol = value['protocol'];
  checkSeconds(value, 'gracePeriodSeconds', 0, errors);
  checkSeconds(value, 'intervalSeconds', 1, errors);
  checkSeconds(value, 'timeoutSeconds', 1, errors);
  checkSeconds(value, 'maxConsecutiveFailures', 0, errors);
  if (!PROTOCOLS.includes(protocol as (typeof PROTOCOLS)[number])) {
    // The other rules depend on the protocol: judging them against a wrong one only adds noise.
    errors.push({
      field: 'healthCheck.protocol',
      message: `healthCheck.protocol must be one of ${PROTOCOLS.join(', ')}`,
    });
    return undefined;
  }
  if (protocol === 'HTTP' && !(typeof value['path'] === 'string' && value['path'].startsWith('/')))
    errors.push({
      field: 'healthCheck.path',
      message: 'healthCheck.path must start with / for an HTTP check',
    });
  if (protocol !== 'HTTP' && value['path'] !== undefined)
    errors.push({ field: 'healthCheck.path', message: 'healthCheck.path is only for HTTP checks' });
  if (protocol === 'COMMAND' && !nonEmpty(value['command']))
    errors.push({
      field: 'healthCheck.command',
      message: 'healthCheck.command is required for a COMMAND check',
    });
  if (protocol !== 'COMMAND' && value['command'] !== undefined)
    errors.push({ field: 'healthCheck.command', message: 'healthCheck.command is only for COMMAND checks' });
  if (protocol === 'HTTP' || protocol === 'TCP') {
    const index = value['portIndex'] ?? 0;
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= ports.length)
      errors.push({
        field: 'healthCheck.portIndex',
        message: `healthCheck.portIndex ${String(index)} does not name one of the app's ${ports.length} ports`,
      });
  }
  return value as HealthCheckSpec;
}

function checkResources(s: Obj, errors: FieldError[]): void {
  if (!isNumber(s['cpus']) || s['cpus'] <= 0)
    errors.push({ field: 'cpus', message: `cpus must be a number of cores > 0, got ${String(s['cpus'])}` });
  if (!isNumber(s['mem']) || s['mem'] < MIN_MEM_MIB)
    errors.push({
      field: 'mem',
      message: `mem must be at least ${MIN_MEM_MIB} MiB, got ${String(s['mem'])}`,
    });
  if (!Number.isInteger(s['instances']) || (s['instances'] as number) < 0)
    errors.push({
      field: 'instances',
      message: `instances must be an integer ≥ 0, got ${String(s['instances'])}`,
    });
}

function checkType(s: Obj, labels: Record<string, string>, errors: FieldError[]): AppType {
  if (s['type'] === undefined) return appTypeOf(labels);
  if (!APP_TYPES.includes(s['type'] as AppType)) {
    errors.push({ field: 'type', message: `type must be one of ${APP_TYPES.join(', ')}` });
    return 'WEB';
  }
  return s['type'] as AppType;
}

function checkByType(s: Obj, type: AppType, ports: number[], errors: FieldError[]): void {
  if (type === 'WEB' && ports.length === 0)
    errors.push({ field: 'ports', message: 'A WEB app needs at least one port' });
  if (type === 'Worker' && ports.length > 0)
    errors.push({ field: 'ports', message: 'A Worker app has no ports' });
  const schedule = s['schedule'];
  if (type === 'Cron') {
    if (typeof schedule !== 'string')
      errors.push({ field: 'schedule', message: 'A Cron app needs a schedule R[n]/start/period' });
    else {
      const bad = scheduleError(schedule);
      if (bad) errors.push({ field: 'schedule', message: bad });
    }
  } else if (schedule !== undefined)
    errors.push({ field: 'schedule', message: 'schedule is only for Cron apps' });
  if (!nonEmpty(s['image']) && !nonEmpty(s['cmd']))
    errors.push({ field: 'image', message: 'An app needs an image or a cmd' });
  for (const key of ['image', 'cmd'] as const)
    if (s[key] !== undefined && typeof s[key] !== 'string')
      errors.push({ field: key, message: `${key} must be a string` });
}

/**
 * Checks an app definition and returns it cleaned, or every bad field at once. Without `type`
 * the `obs.type` label decides (default WEB); `obs.autoscale.*` labels are checked too.
 */
export function validateAppSpec(
  input: unknown,
): { ok: true; value: AppSpec } | { ok: false; errors: FieldError[] } {
  if (!isObject(input)) return { ok: false, errors: [{ field: '', message: 'An app must be an object' }] };
  const errors: FieldError[] = [];
  for (const k of Object.keys(input))
    if (!SPEC_KEYS.has(k)) errors.push({ field: k, message: `${k} is not a known field of an app` });
  const id = input['id'];
  if (typeof id !== 'string') errors.push({ field: 'id', message: 'id must be a string /project/app' });
  else {
    const parsed = parseAppId(id);
    if (!parsed.ok) errors.push(parsed.error);
  }
  const labels =
    input['labels'] === undefined ? undefined : checkStringMap(input['labels'], 'labels', errors);
  const env = input['env'] === undefined ? undefined : checkStringMap(input['env'], 'env', errors);
  const type = checkType(input, labels ?? {}, errors);
  checkResources(input, errors);
  const ports = input['ports'] === undefined ? [] : checkPorts(input['ports'], errors);
  checkByType(input, type, ports, errors);
  const healthCheck =
    input['healthCheck'] === undefined ? undefined : checkHealthCheck(input['healthCheck'], ports, errors);
  if (labels) {
    const raw = labels[TYPE_LABEL];
    if (raw !== undefined && !APP_TYPES.some((t) => t.toLowerCase() === raw.trim().toLowerCase()))
      errors.push({
        field: `labels.${TYPE_LABEL}`,
        message: `${TYPE_LABEL} "${raw}" is not one of ${APP_TYPES.join(', ')}`,
      });
    for (const e of parseAutoscalePolicy(labels).errors) errors.push({ ...e, field: `labels.${e.field}` });
  }
  if (errors.length > 0) return { ok: false, errors };
  const value: AppSpec = {
    id: id as string,
    type,
    cpus: input['cpus'] as number,
    mem: input['mem'] as number,
    instances: input['instances'] as number,
  };
  if (nonEmpty(input['image'])) value.image = input['image'];
  if (nonEmpty(input['cmd'])) value.cmd = input['cmd'];
  if (input['ports'] !== undefined) value.ports = [...ports];
  if (healthCheck) value.healthCheck = { ...healthCheck };
  if (labels) value.labels = labels;
  if (env) value.env = env;
  if (typeof input['schedule'] === 'string') value.schedule = input['schedule'];
  return { ok: true, value };
}

/* ---------------------------------------------------------------- autoscale policy */

export const DEFAULT_AUTOSCALE = {
  mode: 'advise',
  min: 1,
  /** The default max is max(min, this). */
  max: 10,
  targetCpu: 0.6,
  tolerance: 0.1,
  downStabilisationMs: 300_000,
} as const;

const MODES = ['off', 'advise', 'auto'] as const;

type LabelReader = {
  number(key: string, ok: (n: number) => boolean, rule: string): number | undefined;
};

function labelReader(labels: Readonly<Record<string, string>>, errors: FieldError[]): LabelReader {
  return {
    number(key, ok, rule) {
      const label = `${AUTOSCALE_LABEL}.${key}`;
      const raw = labels[label];
      if (raw === undefined) return undefined;
      const n = raw.trim() === '' ? Number.NaN : Number(raw);
      if (Number.isFinite(n) && ok(n)) return n;
      errors.push({ field: label, message: `${label} "${raw}" must be ${rule}; using the default` });
      return undefined;
    },
  };
}

function stabilisationMs(labels: Readonly<Record<string, string>>, errors: FieldError[]): number {
  const label = `${AUTOSCALE_LABEL}.stabilisation`;
  const raw = labels[label];
  if (raw === undefined) return DEFAULT_AUTOSCALE.downStabilisationMs;
  const seconds = Number(raw);
  if (raw.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  try {
    return parseDuration(raw, label);
  } catch {
    errors.push({
      field: label,
      message: `${label} "${raw}" must be seconds ≥ 0 or a duration like 5m; using the default`,
    });
    return DEFAULT_AUTOSCALE.downStabilisationMs;
  }
}

/**
 * The autoscaling policy of an app's `obs.autoscale.*` labels. A bad label takes its default and
 * adds an error naming the label, so one typo does not switch scaling off.
 */
export function parseAutoscalePolicy(labels: Readonly<Record<string, string>> = {}): {
  policy: AutoscalePolicy;
  errors: FieldError[];
} {
  const errors: FieldError[] = [];
  const read = labelReader(labels, errors);
  const modeLabel = `${AUTOSCALE_LABEL}.mode`;
  const rawMode = labels[modeLabel]?.trim().toLowerCase();
  let mode: AutoscalePolicy['mode'] = DEFAULT_AUTOSCALE.mode;
  if (rawMode !== undefined) {
    if (MODES.includes(rawMode as AutoscalePolicy['mode'])) mode = rawMode as AutoscalePolicy['mode'];
    else
      errors.push({
        field: modeLabel,
        message: `${modeLabel} "${labels[modeLabel]}" must be one of ${MODES.join(', ')}; using the default`,
      });
  }
  const min =
    read.number('min', (n) => Number.isInteger(n) && n >= 0, 'an integer ≥ 0') ?? DEFAULT_AUTOSCALE.min;
  const max =
    read.number(
      'max',
      (n) => Number.isInteger(n) && n >= min && n >= 1,
      `an integer ≥ max(min, 1) = ${Math.max(min, 1)}`,
    ) ?? Math.max(min, DEFAULT_AUTOSCALE.max);
  const policy: AutoscalePolicy = {
    mode,
    min,
    max,
    targetCpu:
      read.number('target_cpu', (n) => n > 0 && n <= 1, 'a fraction 0 < x ≤ 1') ??
      DEFAULT_AUTOSCALE.targetCpu,
    tolerance:
      read.number('tolerance', (n) => n >= 0 && n < 1, 'a fraction 0 ≤ x < 1') ?? DEFAULT_AUTOSCALE.tolerance,
    downStabilisationMs: stabilisationMs(labels, errors),
  };
  const latency = read.number('target_latency', (n) => n > 0, 'seconds > 0');
  if (latency !== undefined) policy.targetLatency = latency;
  const rps = read.number('target_rps', (n) => n > 0, 'requests per second > 0');
  if (rps !== undefined) policy.targetRps = rps;
  return { policy, errors };
}
