/**
 * Who a container is, in the platform's terms: the Marathon app and Mesos task it runs, read from
 * the environment Marathon and Mesos give every task (or from labels), turned into standard tags.
 */
import type { Tags } from '../../core/model.ts';
import { toTagValue } from '../host/host-source.ts';

export type AppIdentity = {
  /** First segment of `MARATHON_APP_ID`. */
  project?: string;
  /** The rest of `MARATHON_APP_ID` (`/shop/cart` → `cart`, `/shop/api/v2` → `api/v2`). */
  app?: string;
  /** `MESOS_TASK_ID`. */
  task?: string;
  /** `MARATHON_APP_VERSION`; kept, but not a tag: it would start new series on every deploy. */
  appVersion?: string;
};

/** `KEY=value` strings (Docker's `Config.Env`) as a record; the first `=` splits. */
export function parseEnvList(env: readonly string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** `/proc/<pid>/environ`: NUL-separated `KEY=value` strings. */
export function parseEnviron(text: string): Record<string, string> {
  return parseEnvList(text.split('\0'));
}

/** The identity from a container's env, falling back to its labels key by key. */
export function appIdentity(
  env: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>> = {},
): AppIdentity {
  const pick = (key: string) => {
    const v = env[key] ?? labels[key];
    return v === undefined || v === '' ? undefined : v;
  };
  const out: AppIdentity = {};
  const appId = pick('MARATHON_APP_ID');
  if (appId) {
    const segments = appId.split('/').filter((s) => s !== '');
    if (segments.length === 1) out.app = segments[0]!;
    else if (segments.length > 1) {
      out.project = segments[0]!;
      out.app = segments.slice(1).join('/');
    }
  }
  const task = pick('MESOS_TASK_ID');
  if (task) out.task = task;
  const version = pick('MARATHON_APP_VERSION');
  if (version) out.appVersion = version;
  return out;
}

/** The standard tags of an identity (`project`, `app`, `task`, and `container` when given), made valid. */
export function identityTags(identity: AppIdentity, container?: string): Tags {
  const tags: Tags = {};
  if (identity.project) tags['project'] = toTagValue(identity.project);
  if (identity.app) tags['app'] = toTagValue(identity.app);
  if (identity.task) tags['task'] = toTagValue(identity.task);
  if (container) tags['container'] = toTagValue(container);
  return tags;
}
