/**
 * Names and platform identity of containers from the Docker Engine API (or anything that speaks
 * it, such as podman's service): name, image, labels, and `project`/`app`/`task` from
 * `MARATHON_APP_ID`, `MESOS_TASK_ID` (and `MARATHON_APP_VERSION`) in the env or labels.
 *
 * The container list is cached for `ttlMs`; a container's inspect result never changes, so each is
 * inspected once. When Docker does not answer, the last known identities stay in use, one warning
 * is logged for the outage, and Docker is asked again after `retryMs`.
 */
import Docker from 'dockerode';
import { type Clock, systemClock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import { type Logger, silentLogger } from '../../core/logger.ts';
import type { Tags } from '../../core/model.ts';
import { type AppIdentity, appIdentity, identityTags, parseEnvList } from './identity-tags.ts';

/** The part of dockerode this module calls, declared structurally so tests can stand in for it. */
export type DockerApi = {
  listContainers(options?: {
    all?: boolean;
  }): Promise<{ Id: string; Names?: string[]; Image?: string; Labels?: Record<string, string> | null }[]>;
  getContainer(id: string): {
    inspect(): Promise<{
      Id: string;
      Name?: string;
      Config?: { Env?: string[] | null; Labels?: Record<string, string> | null; Image?: string } | null;
      State?: { Pid?: number } | null;
    }>;
  };
};

export type ContainerIdentity = AppIdentity & {
  id: string;
  /** Without Docker's leading `/`. */
  name: string;
  image: string;
  labels: Record<string, string>;
  /** The container's main process, as Docker reports it (0 or absent when it is not running). */
  pid?: number;
  /** `project`, `app`, `task`, `container`. */
  tags: Tags;
};

export type DockerIdentityOptions = {
  /** An API client; default dockerode on `url`. */
  docker?: DockerApi;
  /** `--docker`: `unix:///var/run/docker.sock` (default), `tcp://host:2375`, `http(s)://host:port`. */
  url?: string;
  /** Per-request timeout of the default client; default 5 s. */
  timeoutMs?: number;
  /** How long a container list is used; default 30 s. */
  ttlMs?: number;
  /** How long after a failure Docker is asked again; default 60 s. */
  retryMs?: number;
  clock?: Clock;
  logger?: Logger;
};

/** An `IdentityResolver` whose identities carry Docker's name, image and labels too. */
export type DockerIdentity = {
  /**
   * Identities of the running containers by full id. Cached for `ttlMs`; while Docker does not answer,
   * the last known ones (never rejects).
   */
  identities(): Promise<ReadonlyMap<string, ContainerIdentity>>;
  /** Whether the last request to Docker succeeded. */
  readonly available: boolean;
};

export type DockerEndpoint =
  | { socketPath: string }
  | { protocol: 'http' | 'https'; host: string; port: number };

/** Parses `--docker`. @throws HubError `INVALID_CONFIG` for anything else than unix, tcp, http, https. */
export function parseDockerUrl(url: string): DockerEndpoint {
  const unix = /^unix:\/\/(\/.+)$/.exec(url);
  if (unix) return { socketPath: unix[1]! };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new HubError('INVALID_CONFIG', `Docker address "${url}" is not a URL`, { cause, where: 'docker' });
  }
  if (!['tcp:', 'http:', 'https:'].includes(parsed.protocol) || parsed.hostname === '')
    throw new HubError(
      'INVALID_CONFIG',
      `Docker address "${url}" must be unix:///path, tcp://host:port or http(s)://host:port`,
      { where: 'docker' },
    );
  const protocol = parsed.protocol === 'https:' ? 'https' : 'http';
  const port = parsed.port === '' ? (protocol === 'https' ? 2376 : 2375) : Number(parsed.port);
  return { protocol, host: parsed.hostname, port };
}

/** The identity of an inspected container (pure). */
export function toContainerIdentity(
  inspect: Awaited<ReturnType<ReturnType<DockerApi['getContainer']>['inspect']>>,
  summary?: { Names?: string[]; Image?: string; Labels?: Record<string, string> | null },
): ContainerIdentity {
  const labels = { ...(summary?.Labels ?? {}), ...(inspect.Config?.Labels ?? {}) };
  const name = (inspect.Name ?? summary?.Names?.[0] ?? inspect.Id.slice(0, 12)).replace(/^\//, '');
  const app = appIdentity(parseEnvList(inspect.Config?.Env), labels);
  const out: ContainerIdentity = {
    ...app,
    id: inspect.Id,
    name,
    image: inspect.Config?.Image ?? summary?.Image ?? '',
    labels,
    tags: identityTags(app, name),
  };
  if (inspect.State?.Pid) out.pid = inspect.State.Pid;
  return out;
}

/** @throws HubError `INVALID_CONFIG` when `url` is not a Docker address. */
export function createDockerIdentity(options: DockerIdentityOptions = {}): DockerIdentity {
  const url = options.url ?? 'unix:///var/run/docker.sock';
  const docker: DockerApi =
    options.docker ?? new Docker({ ...parseDockerUrl(url), timeout: options.timeoutMs ?? 5000 });
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const ttlMs = options.ttlMs ?? 30_000;
  const retryMs = options.retryMs ?? 60_000;
  let known = new Map<string, ContainerIdentity>();
  let fetchedAt: number | undefined;
  let retryAt = 0;
  let available = false;
  let warned = false;
  let inFlight: Promise<ReadonlyMap<string, ContainerIdentity>> | undefined;

  const refresh = async (): Promise<ReadonlyMap<string, ContainerIdentity>> => {
    try {
      const summaries = await docker.listContainers();
      const next = new Map<string, ContainerIdentity>();
      for (const s of summaries) {
        const cached = known.get(s.Id);
        if (cached) {
          next.set(s.Id, cached);
          continue;
        }
        try {
          next.set(s.Id, toContainerIdentity(await docker.getContainer(s.Id).inspect(), s));
        } catch (error) {
          logger.debug('Could not inspect a container; it may have just stopped', { id: s.Id, error });
        }
      }
      known = next;
      fetchedAt = clock.now();
      if (!available && warned)
        logger.info('Docker answers again; containers have names and app tags', { url });
      available = true;
      warned = false;
    } catch (error) {
      available = false;
      retryAt = clock.now() + retryMs;
      if (!warned)
        logger.warn('Docker does not answer; container metrics carry cgroup ids only until it does', {
          url,
          retryMs,
          error,
        });
      warned = true;
    }
    return known;
  };

  return {
    get available() {
      return available;
    },
    identities() {
      const now = clock.now();
      if (fetchedAt !== undefined && available && now - fetchedAt < ttlMs) return Promise.resolve(known);
      if (!available && now < retryAt) return Promise.resolve(known);
      inFlight ??= refresh().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
