/**
 * The data side of the Marathon contract server (not Marathon): validation in Marathon's 400/422
 * shapes, app defaults with the keys of the official examples (app.json, app_list.json), and the
 * group tree and /v2/info bodies. Rules come from the RAML types in test/fixtures/marathon/raml.
 */
import type { MarathonApp, MarathonError } from './mapping.ts';

/** `strings.PathId` of types_stringTypes.raml. */
export const PATH_ID =
  /^(\/?((\.\.)|(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9]))?($|\/))+$/;

type Detail = { path: string; errors: string[] };

const NUMBER_FIELDS = ['cpus', 'mem', 'disk', 'instances', 'gpus', 'backoffSeconds', 'maxLaunchDelaySeconds'];

/** Marathon's 400 "Invalid JSON" body for fields of the wrong JSON type, or undefined. */
export function jsonTypeErrors(body: unknown): MarathonError | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return { message: 'Invalid JSON', details: [{ path: '/', errors: ['error.expected.jsobject'] }] };
  }
  const b = body as Record<string, unknown>;
  const details: Detail[] = [];
  if ('id' in b && typeof b['id'] !== 'string')
    details.push({ path: '/id', errors: ['error.expected.jsstring'] });
  for (const f of NUMBER_FIELDS) {
    if (f in b && typeof b[f] !== 'number')
      details.push({ path: `/${f}`, errors: ['error.expected.jsnumber'] });
  }
  return details.length ? { message: 'Invalid JSON', details } : undefined;
}

/** Marathon's 422 "Object is not valid" body for an app definition, or undefined when valid. */
export function validateApp(app: Record<string, unknown>, requireId: boolean): MarathonError | undefined {
  const details: Detail[] = [];
  const id = app['id'];
  if (requireId && id === undefined) details.push({ path: '/id', errors: ['error.path.missing'] });
  if (typeof id === 'string' && (!PATH_ID.test(id) || id === '/' || id === '')) {
    details.push({ path: '/id', errors: [`must fully match regular expression '${PATH_ID.source}'`] });
  }
  const min = (field: string, least: number, fmt: (n: number) => string) => {
    const v = app[field];
    if (typeof v === 'number' && v < least) {
      details.push({ path: `/${field}`, errors: [`got ${fmt(v)}, expected ${fmt(least)} or more`] });
    }
  };
  const dbl = (n: number) => (Number.isInteger(n) ? n.toFixed(1) : String(n));
  min('cpus', 0.001, dbl);
  min('mem', 0, dbl);
  min('disk', 0, dbl);
  min('instances', 0, String);
  const instances = app['instances'];
  if (typeof instances === 'number' && !Number.isInteger(instances)) {
    details.push({ path: '/instances', errors: ['error.expected.int'] });
  }
  return details.length ? { message: 'Object is not valid', details } : undefined;
}

/** Every key of the official app examples, with Marathon's defaults (types_app.raml). */
function defaults(id: string): MarathonApp {
  return {
    id,
    instances: 1,
    cmd: null,
    cpus: 1,
    disk: 0,
    mem: 128,
    acceptedResourceRoles: null,
    args: null,
    backoffFactor: 1.15,
    backoffSeconds: 1,
    constraints: [],
    container: null,
    dependencies: [],
    env: {},
    executor: '',
    healthChecks: [],
    readinessChecks: [],
    labels: {},
    maxLaunchDelaySeconds: 300,
    ipAddress: null,
    portDefinitions: [],
    ports: [],
    uris: [],
    requirePorts: false,
    upgradeStrategy: { maximumOverCapacity: 1, minimumHealthCapacity: 1 },
    fetch: [],
    user: null,
    secrets: {},
    taskKillGracePeriodSeconds: null,
    tty: false,
  };
}

/** A stored app: defaults, then the stored definition, then the update (a partial update keeps the rest). */
export function mergeApp(
  id: string,
  existing: MarathonApp | undefined,
  update: Record<string, unknown>,
  partial: boolean,
): MarathonApp {
  const start = existing && partial ? existing : defaults(id);
  const merged = { ...start, ...update, id } as MarathonApp;
  if (merged.container && !merged.container.portMappings && merged.container.docker?.portMappings) {
    merged.container = { ...merged.container, portMappings: merged.container.docker.portMappings };
  }
  // Marathon mirrors portDefinitions into the deprecated `ports` list.
  merged.ports = (merged.portDefinitions ?? []).map((d) => d.port ?? 0);
  return merged;
}

/** True when only `instances` differs: Marathon scales without restarting the tasks. */
export function onlyScaled(before: MarathonApp, after: MarathonApp): boolean {
  const strip = (a: MarathonApp) => JSON.stringify({ ...a, instances: 0, version: '', versionInfo: null });
  return strip(before) === strip(after);
}

/** The group tree of GET /v2/groups (group.json): one group per id prefix. */
export function groupTree(apps: MarathonApp[], version: string): Record<string, unknown> {
  type Group = { id: string; apps: MarathonApp[]; groups: Group[]; dependencies: string[]; version: string };
  const root: Group = { id: '/', apps: [], groups: [], dependencies: [], version };
  for (const app of [...apps].sort((a, b) => a.id.localeCompare(b.id))) {
    const parts = app.id.split('/').filter(Boolean);
    let group = root;
    for (let i = 1; i < parts.length; i++) {
      const gid = '/' + parts.slice(0, i).join('/');
      let next = group.groups.find((g) => g.id === gid);
      if (!next) {
        next = { id: gid, apps: [], groups: [], dependencies: [], version };
        group.groups.push(next);
      }
      group = next;
    }
    group.apps.push(app);
  }
  return root;
}

/** GET /v2/info, with the top-level keys of info.json. */
export function infoBody(url: string): Record<string, unknown> {
  const host = new URL(url);
  return {
    name: 'marathon',
    version: '1.5.0-contract',
    buildref: 'contract-server',
    elected: true,
    leader: host.host,
    frameworkId: 'contract-server-framework-0000',
    marathon_config: { framework_name: 'marathon', hostname: host.hostname, ha: false, webui_url: url },
    zookeeper_config: { zk: 'zk://localhost:2181/marathon' },
    http_config: { http_port: Number(host.port) },
  };
}
