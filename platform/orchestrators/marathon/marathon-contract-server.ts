/**
 * A Marathon CONTRACT SERVER for tests and demos — it is not Marathon. It answers the REST v2
 * endpoints the hub's client uses, in the shapes of Marathon's official examples and RAML types
 * (test/fixtures/marathon, Apache-2.0): apps, tasks, deployments, groups, info, ping and the
 * /v2/events stream with `event_type` filtering. Deployments take `deploymentMs`, launch or kill
 * tasks and end with `deployment_success`; a running deployment locks its app (409) unless `force`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, systemClock } from '../../../core/clock.ts';
import type { MarathonApp, MarathonTask } from './mapping.ts';
import { createContractEventHub } from './marathon-contract-events.ts';
import {
  groupTree,
  infoBody,
  jsonTypeErrors,
  mergeApp,
  onlyScaled,
  validateApp,
} from './marathon-contract-model.ts';

export type ContractDeployment = {
  id: string;
  version: string;
  affectedApps: string[];
  affectedPods: string[];
  steps: { actions: { action: string; app: string }[] }[];
  currentActions: { action: string; app: string; readinessCheckResults: unknown[] }[];
  currentStep: number;
  totalSteps: number;
};

export type RecordedRequest = { method: string; path: string; body: unknown };

export type MarathonContractServer = {
  url: string;
  state: {
    apps: Map<string, MarathonApp>;
    tasks: Map<string, MarathonTask[]>;
    deployments: Map<string, ContractDeployment>;
  };
  /** Every request received, in order (path includes the query string). */
  requests: RecordedRequest[];
  setDeploymentMs(ms: number): void;
  /** Starts a deployment on the app that never finishes by itself: writes get 409 until forced. */
  lockApp(appId: string): string;
  /** Answers the next `count` requests (whose path starts with `pathPrefix`) with `status`. */
  failNext(status: number, count: number, pathPrefix?: string): void;
  /** Ends every open /v2/events stream; refuses new ones with 503 for `refuseMs`. */
  dropEventStreams(refuseMs?: number): void;
  close(): Promise<void>;
};

export type MarathonContractServerOptions = {
  port?: number;
  deploymentMs?: number;
  clock?: Clock;
  /** Require HTTP basic auth with these credentials. */
  user?: string;
  password?: string;
};

type Answer = { status: number; body?: unknown; text?: string };

const HOSTS = ['agent-1.contract.local', 'agent-2.contract.local', 'agent-3.contract.local'];

export async function startMarathonContractServer(
  options: MarathonContractServerOptions = {},
): Promise<MarathonContractServer> {
  const clock = options.clock ?? systemClock;
  let deploymentMs = options.deploymentMs ?? 200;
  const apps = new Map<string, MarathonApp>();
  const tasks = new Map<string, MarathonTask[]>();
  const deployments = new Map<string, ContractDeployment>();
  const timers = new Map<string, () => void>();
  const requests: RecordedRequest[] = [];
  const events = createContractEventHub(clock);
  const failures: { status: number; count: number; prefix: string }[] = [];
  let taskSeq = 0;
  let url = '';

  const iso = () => new Date(clock.now()).toISOString();

  const publish = events.publish;

  function appTasks(id: string): MarathonTask[] {
    return tasks.get(id) ?? [];
  }

  function appInfo(app: MarathonApp, embedTasks: boolean, embedDeployments: boolean): MarathonApp {
    const list = appTasks(app.id);
    const running = list.filter((t) => t.state === 'TASK_RUNNING');
    const info: MarathonApp = {
      ...app,
      tasksStaged: list.filter((t) => t.state === 'TASK_STAGING').length,
      tasksRunning: running.length,
      tasksHealthy: running.filter((t) => t.healthCheckResults?.every((r) => r.alive)).length,
      tasksUnhealthy: running.filter((t) => t.healthCheckResults?.some((r) => !r.alive)).length,
    };
    if (embedDeployments || embedTasks) {
      info.deployments = [...deployments.values()]
        .filter((d) => d.affectedApps.includes(app.id))
        .map((d) => ({ id: d.id }));
    }
    if (embedTasks) info.tasks = list;
    return info;
  }

  function launchTask(app: MarathonApp): MarathonTask {
    const n = taskSeq++;
    const task: MarathonTask = {
      id: `${app.id.slice(1).replaceAll('/', '_')}.${randomUUID()}`,
      appId: app.id,
      host: HOSTS[n % HOSTS.length]!,
      ports: [31000 + (n % 1000)],
      slaveId: `contract-agent-${n % HOSTS.length}`,
      stagedAt: iso(),
      startedAt: null,
      version: app['version'] as string,
      state: 'TASK_STAGING',
    };
    publishStatus(task);
    return task;
  }

  function publishStatus(task: MarathonTask): void {
    publish('status_update_event', {
      slaveId: task['slaveId'],
      taskId: task.id,
      taskStatus: task.state,
      message: '',
      appId: task.appId,
      host: task.host,
      ports: task['ports'],
      version: task['version'],
    });
  }

  /** Runs a deployment: new tasks stage now; after `deploymentMs` they run and the excess is killed. */
  function startDeployment(app: MarathonApp, action: string, restart: boolean): ContractDeployment {
    const d: ContractDeployment = {
      id: randomUUID(),
      version: app['version'] as string,
      affectedApps: [app.id],
      affectedPods: [],
      steps: [{ actions: [{ action, app: app.id }] }],
      currentActions: [{ action, app: app.id, readinessCheckResults: [] }],
      currentStep: 1,
      totalSteps: 1,
    };
    deployments.set(d.id, d);
    const plan = { id: d.id, steps: d.steps, version: d.version };
    publish('deployment_info', { plan, currentStep: d.steps[0] });
    const old = appTasks(app.id);
    const keep = restart ? [] : old.slice(0, app.instances ?? 0);
    const staged = Array.from({ length: Math.max(0, (app.instances ?? 0) - keep.length) }, () =>
      launchTask(app),
    );
    tasks.set(app.id, [...old, ...staged]);
    timers.set(
      d.id,
      clock.setTimeout(() => finishDeployment(d, app, keep, staged, old), deploymentMs),
    );
    return d;
  }

  function finishDeployment(
    d: ContractDeployment,
    app: MarathonApp,
    keep: MarathonTask[],
    staged: MarathonTask[],
    old: MarathonTask[],
  ) {
    timers.delete(d.id);
    deployments.delete(d.id);
    for (const t of staged) {
      t.state = 'TASK_RUNNING';
      t.startedAt = iso();
      if (app.healthChecks?.length) t.healthCheckResults = [{ alive: true }];
      publishStatus(t);
      if (t.healthCheckResults) {
        publish('health_status_changed_event', {
          appId: app.id,
          taskId: t.id,
          instanceId: t.id,
          version: t['version'],
          alive: true,
        });
      }
    }
    for (const t of old.filter((t) => !keep.includes(t))) {
      t.state = 'TASK_KILLED';
      publishStatus(t);
    }
    if (apps.has(app.id)) tasks.set(app.id, [...keep, ...staged]);
    else tasks.delete(app.id);
    const plan = { id: d.id, steps: d.steps, version: d.version };
    publish('deployment_step_success', { plan, currentStep: d.steps[0] });
    publish('deployment_success', { id: d.id, plan });
  }

  /** With force, cancels the deployments that lock the app (each ends with deployment_failed). */
  function lockedBy(appId: string, force: boolean): Answer | undefined {
    const locking = [...deployments.values()].filter((d) => d.affectedApps.includes(appId));
    if (!locking.length) return undefined;
    if (!force) {
      return {
        status: 409,
        body: {
          message:
            "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.",
          deployments: locking.map((d) => ({ id: d.id })),
        },
      };
    }
    for (const d of locking) {
      timers.get(d.id)?.();
      timers.delete(d.id);
      deployments.delete(d.id);
      publish('deployment_failed', { id: d.id, plan: { id: d.id, steps: d.steps, version: d.version } });
    }
    return undefined;
  }

  function writeApp(id: string, body: unknown, query: URLSearchParams, create: boolean): Answer {
    const typeErrors = jsonTypeErrors(body);
    if (typeErrors) return { status: 400, body: typeErrors };
    const input = body as Record<string, unknown>;
    const appId = create ? String(input['id'] ?? '') : id;
    const invalid = validateApp(create ? input : { ...input, id: appId }, create);
    if (invalid) return { status: 422, body: invalid };
    const normalized = appId.startsWith('/') ? appId : '/' + appId;
    const existing = apps.get(normalized);
    if (create && existing)
      return { status: 409, body: { message: `An app with id [${normalized}] already exists.` } };
    if (!existing && !input['cmd'] && !input['args'] && !input['container']) {
      const errors = ["AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."];
      return { status: 422, body: { message: 'Object is not valid', details: [{ path: '/', errors }] } };
    }
    const lock = existing && lockedBy(normalized, query.get('force') === 'true');
    if (lock) return lock;
    const partial = query.get('partialUpdate') !== 'false';
    const app = mergeApp(normalized, existing, input, partial);
    const version = iso();
    const scaleOnly = existing !== undefined && onlyScaled(existing, app);
    app['version'] = version;
    app['versionInfo'] = {
      lastScalingAt: version,
      lastConfigChangeAt: scaleOnly
        ? (existing!['versionInfo'] as { lastConfigChangeAt: string }).lastConfigChangeAt
        : version,
    };
    apps.set(normalized, app);
    const action = !existing ? 'StartApplication' : scaleOnly ? 'ScaleApplication' : 'RestartApplication';
    const d = startDeployment(app, action, existing !== undefined && !scaleOnly);
    if (create) return { status: 201, body: { ...appInfo(app, false, true) } };
    return { status: existing ? 200 : 201, body: { deploymentId: d.id, version } };
  }

  function deleteApp(id: string, query: URLSearchParams): Answer {
    const app = apps.get(id);
    if (!app) return { status: 404, body: { message: `App '${id}' does not exist` } };
    const lock = lockedBy(id, query.get('force') === 'true');
    if (lock) return lock;
    apps.delete(id);
    const d = startDeployment({ ...app, instances: 0 }, 'StopApplication', false);
    return { status: 200, body: { deploymentId: d.id, version: iso() } };
  }

  function route(method: string, path: string, query: URLSearchParams, body: unknown): Answer {
    if (path === '/ping' && method === 'GET') return { status: 200, text: 'pong' };
    if (path === '/v2/info' && method === 'GET') return { status: 200, body: infoBody(url) };
    if (path === '/v2/deployments' && method === 'GET')
      return { status: 200, body: [...deployments.values()] };
    if (path === '/v2/groups' && method === 'GET')
      return { status: 200, body: groupTree([...apps.values()], iso()) };
    if (path === '/v2/tasks' && method === 'GET')
      return { status: 200, body: { tasks: [...tasks.values()].flat() } };
    if (path === '/v2/apps') {
      if (method === 'POST') return writeApp('', body, query, true);
      if (method !== 'GET') return { status: 405, body: { message: 'Method not allowed' } };
      const embed = query.getAll('embed');
      const withTasks = embed.includes('apps.tasks');
      const list = [...apps.values()].map((a) =>
        appInfo(a, withTasks, withTasks || embed.includes('apps.deployments')),
      );
      return { status: 200, body: { apps: list } };
    }
    if (path.startsWith('/v2/apps/')) {
      const rest = path.slice('/v2/apps'.length);
      const tasksPath = rest.endsWith('/tasks') && apps.has(rest.slice(0, -'/tasks'.length));
      const id = tasksPath ? rest.slice(0, -'/tasks'.length) : rest.replace(/\/+$/, '');
      const app = apps.get(id);
      if (tasksPath && method === 'GET') return { status: 200, body: { tasks: appTasks(id) } };
      if (method === 'GET') {
        return app
          ? { status: 200, body: { app: appInfo(app, true, true) } }
          : { status: 404, body: { message: `App '${id}' does not exist` } };
      }
      if (method === 'PUT') return writeApp(id, body, query, false);
      if (method === 'DELETE') return deleteApp(id, query);
    }
    return { status: 404, body: { message: `no route ${method} ${path} in the Marathon contract server` } };
  }

  function authorized(req: IncomingMessage): boolean {
    if (options.user === undefined) return true;
    const expected = 'Basic ' + Buffer.from(`${options.user}:${options.password ?? ''}`).toString('base64');
    return req.headers.authorization === expected;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = new URL(req.url ?? '/', 'http://contract');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const method = req.method ?? 'GET';
    requests.push({ method, path: parsed.pathname + parsed.search, body });
    const failure = failures.find((f) => f.count > 0 && parsed.pathname.startsWith(f.prefix));
    let answer: Answer | undefined;
    if (failure) {
      failure.count--;
      answer = { status: failure.status, body: { message: 'injected failure (contract server)' } };
    } else if (!authorized(req)) {
      answer = { status: 401, body: { message: 'Invalid username or password.' } };
    } else if (parsed.pathname === '/v2/events' && method === 'GET') {
      events.open(req, res, parsed.searchParams);
      return;
    } else if (typeof body === 'string') {
      answer = {
        status: 400,
        body: { message: 'Invalid JSON', details: [{ path: '/', errors: ['error.expected.jsobject'] }] },
      };
    } else {
      answer = route(method, decodeURIComponent(parsed.pathname), parsed.searchParams, body);
    }
    if (answer.text !== undefined) {
      res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.text);
    } else {
      res
        .writeHead(answer.status, { 'content-type': 'application/json' })
        .end(JSON.stringify(answer.body ?? {}));
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: String(e) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    state: { apps, tasks, deployments },
    requests,
    setDeploymentMs(ms) {
      deploymentMs = ms;
    },
    lockApp(appId) {
      const app = apps.get(appId) ?? mergeApp(appId, undefined, {}, false);
      const d = startDeployment({ ...app, version: iso() }, 'RestartApplication', false);
      timers.get(d.id)?.();
      timers.delete(d.id);
      return d.id;
    },
    failNext(status, count, pathPrefix = '/') {
      failures.push({ status, count, prefix: pathPrefix });
    },
    dropEventStreams(refuseMs = 0) {
      events.drop(refuseMs);
    },
    async close() {
      for (const cancel of timers.values()) cancel();
      timers.clear();
      events.drop(0);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
