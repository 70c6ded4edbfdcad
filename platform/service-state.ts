/**
 * What the platform loop shows to users, and the small persistence of its advisor: the view
 * types, and reading and writing a JSON file atomically.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { createAdvisor } from './advice/advise.ts';
import { createScalingHistory } from './autoscaler/decide.ts';
import type {
  AppSpec,
  AppTask,
  AutoscalePolicy,
  CapacityAdvice,
  ContainerUsage,
  HealthVerdict,
  ScalingRecord,
} from './types.ts';

export type { DeploymentView } from './service-deployments.ts';

/** One container of an app with what was measured and the verdict on it. */
export type ContainerView = { container: string; task?: string; usage: ContainerUsage; verdict: HeldVerdict };

/** A verdict as the health tracker holds it, with the epoch ms it has held since. */
export type HeldVerdict = HealthVerdict & { since: number };

/** An app as the pages show it: its setting, tasks, health with reasons, policy and latest advice. */
export type AppView = {
  /** `/project/app`. */
  id: string;
  project: string;
  type: AppSpec['type'];
  /** `marathon`, `chronos`, `docker`, or `none` in advice-only mode. */
  orchestrator: string;
  instances: number;
  spec: AppSpec;
  tasks: AppTask[];
  deployments: string[];
  health: HeldVerdict;
  containers: ContainerView[];
  policy: AutoscalePolicy;
  /** Problems of the `obs.autoscale.*` labels; the policy falls back to defaults for those. */
  policyErrors: { field: string; message: string }[];
  lastDecision?: ScalingRecord;
  advice?: CapacityAdvice;
  /** Epoch ms of the evaluation this view comes from. */
  evaluatedAt: number;
};

/** Reads a JSON file, or undefined when it does not exist or is not JSON. */
export async function readJsonFile(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

/** Writes JSON through a temporary file and a rename, so a crash leaves the old or the new file. */
export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(value), { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * The advisor's histograms and the autoscaler's recent recommendations (its scale-down
 * stabilisation window) from the last run; a damaged file is logged and replaced by a fresh start.
 */
export async function loadState(path: string, clock: Clock, logger: Logger) {
  const saved = (await readJsonFile(path)) as { advisor?: unknown; scaling?: unknown } | undefined;
  const advisor = createAdvisor({ clock });
  let history = createScalingHistory();
  try {
    if (saved?.advisor !== undefined) advisor.load(saved.advisor);
    if (saved?.scaling !== undefined) history = createScalingHistory(saved.scaling);
  } catch (error) {
    logger.warn('Could not load the platform state; starting afresh', { path, error });
  }
  return { advisor, history };
}
