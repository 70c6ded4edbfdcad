/**
 * Deployments as users follow them: started → steps → success or failure, built from the
 * orchestrators' events (and from the ids a deploy or scale call returns, so a rollout shows up
 * even before the orchestrator's first event arrives).
 */
import type { OrchestratorEvent } from './types.ts';

export type DeploymentStatus = 'running' | 'success' | 'failed';

export type DeploymentView = {
  id: string;
  appId: string;
  orchestrator: string;
  status: DeploymentStatus;
  /** Epoch ms. */
  startedAt: number;
  endedAt: number | null;
  /** The latest step or outcome, for people. */
  message: string;
  /** Every step seen, oldest first. */
  steps: { ts: number; message: string }[];
};

export type DeploymentTracker = {
  /** Applies one event; returns the deployment it changed, if it was about one. */
  apply(event: OrchestratorEvent): DeploymentView | undefined;
  /** Notes a deployment a call started; returns it when it is new. */
  started(
    id: string,
    appId: string,
    orchestrator: string,
    ts: number,
    message: string,
  ): DeploymentView | undefined;
  /** Newest first. */
  list(): DeploymentView[];
  get(id: string): DeploymentView | undefined;
};

const MAX_STEPS = 50;

/** Keeps the newest `max` deployments (default 200); finished ones are dropped first. */
export function createDeploymentTracker(max = 200): DeploymentTracker {
  const byId = new Map<string, DeploymentView>();

  const trim = () => {
    if (byId.size <= max) return;
    const finished = [...byId.values()].filter((d) => d.status !== 'running');
    finished.sort((a, b) => a.startedAt - b.startedAt);
    for (const d of finished) {
      if (byId.size <= max) return;
      byId.delete(d.id);
    }
    const all = [...byId.values()].sort((a, b) => a.startedAt - b.startedAt);
    for (const d of all) {
      if (byId.size <= max) return;
      byId.delete(d.id);
    }
  };

  const ensure = (id: string, appId: string, orchestrator: string, ts: number): DeploymentView => {
    let d = byId.get(id);
    if (!d) {
      d = {
        id,
        appId,
        orchestrator,
        status: 'running',
        startedAt: ts,
        endedAt: null,
        message: 'started',
        steps: [],
      };
      byId.set(id, d);
      trim();
    } else if (d.appId === '' && appId !== '') d.appId = appId;
    return d;
  };

  const step = (d: DeploymentView, ts: number, message: string) => {
    d.message = message;
    // Marathon announces a step both as the deployment's start and as its first step.
    if (d.steps.at(-1)?.message === message) return;
    d.steps.push({ ts, message });
    if (d.steps.length > MAX_STEPS) d.steps.splice(0, d.steps.length - MAX_STEPS);
  };

  return {
    apply(event) {
      if (!event.deploymentId || !event.type.startsWith('deployment_')) return undefined;
      const d = ensure(event.deploymentId, event.appId ?? '', event.orchestrator, event.ts);
      switch (event.type) {
        case 'deployment_started':
          step(d, event.ts, event.message ?? 'started');
          break;
        case 'deployment_step':
          step(d, event.ts, event.message ?? 'next step');
          break;
        case 'deployment_success':
          d.status = 'success';
          d.endedAt = event.ts;
          step(d, event.ts, event.message ?? 'finished');
          break;
        case 'deployment_failed':
          d.status = 'failed';
          d.endedAt = event.ts;
          step(d, event.ts, event.message ?? 'failed');
          break;
        default:
          return undefined;
      }
      return { ...d, steps: [...d.steps] };
    },
    started(id, appId, orchestrator, ts, message) {
      if (byId.has(id)) return undefined;
      const d = ensure(id, appId, orchestrator, ts);
      step(d, ts, message);
      return { ...d, steps: [...d.steps] };
    },
    list() {
      return [...byId.values()]
        .sort((a, b) => b.startedAt - a.startedAt || b.id.localeCompare(a.id))
        .map((d) => ({ ...d, steps: [...d.steps] }));
    },
    get(id) {
      const d = byId.get(id);
      return d ? { ...d, steps: [...d.steps] } : undefined;
    },
  };
}
