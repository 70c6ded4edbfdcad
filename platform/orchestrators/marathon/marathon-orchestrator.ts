/**
 * The Orchestrator port over Marathon's REST API v2, with our own small `fetch` client.
 * Conversions are in `mapping.ts`; the event stream in `marathon-events.ts`.
 */
import type { Clock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Orchestrator } from '../../../core/ports.ts';
import type { AppSpec, AppStatus, AppTask, DeployResult } from '../../types.ts';
import {
  createHttpClient,
  type HttpClient,
  type HttpResponse,
  httpError,
  messageOf,
  type RetryOptions,
} from './http.ts';
import {
  errorDetails,
  fromMarathonAppStatus,
  fromMarathonTask,
  lockingDeployments,
  type MarathonApp,
  type MarathonError,
  type MarathonTask,
  toMarathonApp,
} from './mapping.ts';
import { watchMarathonEvents } from './marathon-events.ts';

export type MarathonOrchestratorOptions = {
  /** Marathon's base URL, e.g. `http://marathon.mesos:8080`. */
  url: string;
  clock: Clock;
  logger: Logger;
  /** HTTP basic auth, when Marathon runs with `--http_credentials`. */
  user?: string;
  password?: string;
  /**
   * On 409 "App is locked by one or more deployments", retry once with `?force=true`, which
   * cancels the running deployment. Default false: the call fails with CONFLICT instead.
   */
  forceOnLock?: boolean;
  /** Retries on 502/503/504 and network errors. Default 4 attempts from 200 ms, doubling. */
  retry?: RetryOptions;
};

/** A running deployment as GET /v2/deployments lists it. */
export type MarathonDeployment = {
  id: string;
  version?: string;
  affectedApps?: string[];
  [key: string]: unknown;
};

/** The Marathon adapter: the Orchestrator port plus Marathon's own read endpoints. */
export type MarathonOrchestrator = Orchestrator & {
  /** GET /v2/info: Marathon's version, leader and configuration. */
  info(): Promise<Record<string, unknown>>;
  /** GET /ping: true when Marathon answers `pong`. */
  ping(): Promise<boolean>;
  /** GET /v2/apps/{id}/tasks. */
  tasks(id: string): Promise<AppTask[]>;
  /** GET /v2/deployments. */
  deployments(): Promise<MarathonDeployment[]>;
  /** GET /v2/groups: the group tree as Marathon returns it. */
  groups(): Promise<Record<string, unknown>>;
};

const EMBED = 'embed=apps.tasks&embed=apps.deployments';

/** Encodes an app id for a URL path, keeping its slashes: `/shop/web` → `/shop/web`. */
function appPath(id: string): string {
  const clean = id.startsWith('/') ? id : '/' + id;
  return clean.split('/').map(encodeURIComponent).join('/');
}

export function createMarathonOrchestrator(options: MarathonOrchestratorOptions): MarathonOrchestrator {
  const logger = options.logger.child({ orchestrator: 'marathon' });
  const http = createHttpClient({ ...options, logger, system: 'Marathon' });
  const watches = new Set<{ close(): void }>();

  async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await http.send(method, path, body);
    if (res.status >= 200 && res.status < 300) return res.body as T;
    throw toError(method, path, res);
  }

  /** A write that may meet a deployment lock: fails with CONFLICT, or forces once when configured. */
  async function write(method: string, path: string, body: unknown, force = false): Promise<HttpResponse> {
    const sep = path.includes('?') ? '&' : '?';
    const res = await http.send(method, force ? `${path}${sep}force=true` : path, body);
    if (res.status >= 200 && res.status < 300) return res;
    const locked = res.status === 409 ? lockingDeployments(res.body as MarathonError) : [];
    if (locked.length && !force && options.forceOnLock) {
      logger.warn('app locked by deployments, forcing', { path, deployments: locked });
      return write(method, path, body, true);
    }
    throw toError(method, path, res);
  }

  function toError(method: string, path: string, res: HttpResponse): HubError {
    const body = (res.body && typeof res.body === 'object' ? res.body : {}) as MarathonError;
    const message = messageOf(res.body, res.text);
    const locked = res.status === 409 ? lockingDeployments(body) : [];
    if (locked.length) {
      return new HubError(
        'CONFLICT',
        `Marathon app ${path.split('?')[0]!.replace(/^\/v2\/apps/, '')} is locked by deployment(s) ${locked.join(', ')}; not forced`,
        { where: path, cause: body },
      );
    }
    if (res.status === 422 || (res.status === 400 && body.details?.length)) {
      return new HubError(res.status === 422 ? 'INVALID_INPUT' : 'BAD_REQUEST', `Marathon: ${message}`, {
        where: path,
        details: errorDetails(body),
      });
    }
    return httpError('Marathon', method, path, res.status, message);
  }

  async function getApp(id: string): Promise<AppStatus | undefined> {
    const res = await http.send('GET', `/v2/apps${appPath(id)}?embed=app.tasks&embed=app.deployments`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw toError('GET', `/v2/apps${appPath(id)}`, res);
    return fromMarathonAppStatus((res.body as { app: MarathonApp }).app);
  }

  async function deploy(spec: AppSpec): Promise<DeployResult> {
    const app = toMarathonApp(spec);
    const existing = await http.send('GET', `/v2/apps${appPath(spec.id)}`);
    if (existing.status === 404) {
      const res = await write('POST', '/v2/apps', app);
      const id = (res.body as MarathonApp).deployments?.[0]?.id;
      logger.info('app created', { app: spec.id, deployment: id });
      return id ? { deploymentId: id } : {};
    }
    if (existing.status !== 200) throw toError('GET', `/v2/apps${appPath(spec.id)}`, existing);
    const res = await write('PUT', `/v2/apps${appPath(spec.id)}?partialUpdate=true`, app);
    const id = (res.body as { deploymentId?: string }).deploymentId;
    logger.info('app updated', { app: spec.id, deployment: id });
    return id ? { deploymentId: id } : {};
  }

  async function scale(id: string, instances: number, opts: { force?: boolean } = {}): Promise<DeployResult> {
    if (!Number.isInteger(instances) || instances < 0) {
      throw new HubError('INVALID_INPUT', `instances must be a whole number ≥ 0, got ${instances}`, {
        details: [{ field: 'instances', message: `got ${instances}, expected a whole number ≥ 0` }],
      });
    }
    // PUT creates a missing app; look first so that scaling a typo fails instead of creating one.
    const existing = await http.send('GET', `/v2/apps${appPath(id)}`);
    if (existing.status !== 200) throw toError('GET', `/v2/apps${appPath(id)}`, existing);
    const res = await write('PUT', `/v2/apps${appPath(id)}`, { instances }, opts.force === true);
    const deploymentId = (res.body as { deploymentId?: string }).deploymentId;
    logger.info('app scaled', { app: id, instances, deployment: deploymentId });
    return deploymentId ? { deploymentId } : {};
  }

  return {
    name: 'marathon',
    async listApps() {
      const body = await json<{ apps: MarathonApp[] }>('GET', `/v2/apps?${EMBED}`);
      return body.apps.map(fromMarathonAppStatus);
    },
    getApp,
    deploy,
    scale,
    watch(onEvent) {
      const w = watchMarathonEvents(
        { http: http as HttpClient, url: options.url, clock: options.clock, logger },
        onEvent,
      );
      watches.add(w);
      return {
        close() {
          watches.delete(w);
          w.close();
        },
      };
    },
    async close() {
      for (const w of watches) w.close();
      watches.clear();
    },
    info: () => json<Record<string, unknown>>('GET', '/v2/info'),
    async ping() {
      const res = await http.send('GET', '/ping', undefined, 'text/plain');
      return res.status === 200 && res.text.trim() === 'pong';
    },
    async tasks(id) {
      const body = await json<{ tasks: MarathonTask[] }>('GET', `/v2/apps${appPath(id)}/tasks`);
      return body.tasks.map(fromMarathonTask);
    },
    deployments: () => json<MarathonDeployment[]>('GET', '/v2/deployments'),
    groups: () => json<Record<string, unknown>>('GET', '/v2/groups'),
  };
}
