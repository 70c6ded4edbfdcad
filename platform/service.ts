/**
 * The platform loop: every interval it lists the apps of every orchestrator (or, without any,
 * makes them up from the containers the agents report), reads the containers' recent usage,
 * judges container and app health, feeds the capacity advisor and lets the autoscaler decide,
 * scaling in `auto` mode. It follows the orchestrators' deployments live, and deploys and scales
 * on request. Decisions and the advisor's history survive restarts (in `dataDir/platform/`).
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { MetricPoint } from '../core/model.ts';
import type { MetricStore, Orchestrator } from '../core/ports.ts';
import { decide } from './autoscaler/decide.ts';
import { type DecisionFilter, openDecisionLog } from './decision-log.ts';
import { evaluateApp, evaluateContainer } from './health/evaluate.ts';
import { createHealthTracker } from './health/tracker.ts';
import { type AppTraffic, healthPoints, readAppTraffic, readContainerUsage } from './health/usage.ts';
import { parseAutoscalePolicy, validateAppSpec } from './model.ts';
import { createDeploymentTracker, type DeploymentView } from './service-deployments.ts';
import {
  containersByApp,
  decisionTasks,
  noDataVerdict,
  normalizeAppId,
  pickOrchestrator,
  projectOfAppId,
  scaleError,
  synthesizeApps,
  worthKeeping,
} from './service-match.ts';
import { type AppView, type ContainerView, loadState, writeJsonFile } from './service-state.ts';
import type { AppStatus, CapacityAdvice, DeployResult, OrchestratorEvent, ScalingRecord } from './types.ts';

export type { DeploymentView } from './service-deployments.ts';
export type { AppView, ContainerView } from './service-state.ts';

export type PlatformOptions = {
  store: MetricStore;
  /** Marathon, Chronos, Docker; none = advice-only mode. Closed by `close`. */
  orchestrators: Orchestrator[];
  clock: Clock;
  logger: Logger;
  dataDir: string;
  /** How often the loop runs; default 15 000 ms. */
  intervalMs?: number;
  /** The usage window health is judged on; default 60 000 ms. */
  healthWindowMs?: number;
  /** Where `platform.health` points go (the hub's ingest). */
  publish?: (points: MetricPoint[]) => void;
  /** Decisions kept in memory and on disk; default 2000. */
  keepDecisions?: number;
  /**
   * Whether this hub leads its group (default: always). A hub that does not lead judges health and
   * advises, for its pages, but neither scales nor publishes health points: the leader does.
   */
  leads?: () => boolean;
};

export type Platform = {
  /** Starts following the orchestrators and runs `evaluate` every interval. */
  start(): void;
  /** One round of the loop; concurrent calls share the round in flight. */
  evaluate(): Promise<void>;
  apps(): AppView[];
  app(id: string): AppView | undefined;
  advice(): CapacityAdvice[];
  /** Newest first. */
  decisions(filter?: DecisionFilter): ScalingRecord[];
  /** Newest first. */
  deployments(): DeploymentView[];
  /** Validates and deploys; `INVALID_INPUT` with one detail per bad field. */
  deploy(spec: unknown): Promise<DeployResult>;
  /** Sets an app's instance count through its orchestrator. */
  scale(id: string, instances: number, options?: { force?: boolean }): Promise<DeployResult>;
  /** `health` (HealthEvent), `decision` (ScalingRecord), `deployment` (DeploymentView), `orchestrator` (OrchestratorEvent). */
  events: EventEmitter;
  close(): Promise<void>;
};

type Known = { status: AppStatus; orchestrator: Orchestrator | undefined };
type Traffic = Map<string, AppTraffic>;

/** Builds the platform loop; loads the decision log and the advisor's state from `dataDir/platform/`. */
export async function createPlatform(options: PlatformOptions): Promise<Platform> {
  const { store, orchestrators, clock, logger } = options;
  const intervalMs = options.intervalMs ?? 15_000;
  const windowMs = options.healthWindowMs ?? 60_000;
  const leads = options.leads ?? (() => true);
  const dir = join(options.dataDir, 'platform');
  const statePath = join(dir, 'state.json');
  const events = new EventEmitter();
  const log = await openDecisionLog({
    path: join(dir, 'decisions.jsonl'),
    logger,
    ...(options.keepDecisions === undefined ? {} : { keep: options.keepDecisions }),
  });
  const tracker = createHealthTracker({ clock });
  const deployments = createDeploymentTracker();
  const { advisor, history } = await loadState(statePath, clock, logger);
  const lastKept = new Map<string, ScalingRecord>();
  for (const r of log.list({ limit: Number.MAX_SAFE_INTEGER }).reverse()) lastKept.set(r.appId, r);

  let known = new Map<string, Known>();
  let views = new Map<string, AppView>();
  /** Apps of each orchestrator from its last good listing, kept while it fails. */
  const lastListing = new Map<string, AppStatus[]>();
  let running: Promise<void> | undefined;
  let stopTimer: (() => void) | undefined;
  const watches: { close(): void }[] = [];

  const saveState = () =>
    writeJsonFile(statePath, { v: 1, advisor: advisor.toJSON(), scaling: history.toJSON() }).catch(
      (error: unknown) =>
        logger.warn('Could not save the advisor and autoscaler state', { path: statePath, error }),
    );

  const emitDeployment = (view: DeploymentView | undefined) => {
    if (view) events.emit('deployment', view);
  };

  async function listAll(
    usages: Awaited<ReturnType<typeof readContainerUsage>>,
  ): Promise<Map<string, Known>> {
    const out = new Map<string, Known>();
    if (orchestrators.length === 0) {
      for (const status of synthesizeApps(usages))
        out.set(status.spec.id, { status, orchestrator: undefined });
      return out;
    }
    await Promise.all(
      orchestrators.map(async (o) => {
        let apps = lastListing.get(o.name) ?? [];
        try {
          apps = await o.listApps();
          lastListing.set(o.name, apps);
        } catch (error) {
          logger.warn('Could not list the apps of an orchestrator; using its last listing', {
            orchestrator: o.name,
            error,
          });
        }
        for (const status of apps) out.set(normalizeAppId(status.spec.id), { status, orchestrator: o });
      }),
    );
    return out;
  }

  /** Container and app verdicts fed through the tracker; the views get the states it holds. */
  function judgeHealth(status: AppStatus, containers: ContainerView['usage'][], traffic: Traffic) {
    const id = normalizeAppId(status.spec.id);
    const cpus = status.spec.cpus;
    const silent = noDataVerdict(status, containers.length);
    if (silent) {
      // Not a state to debounce: the first verdict with data is taken at once.
      tracker.forget(id);
      return { judged: [], verdict: { ...silent, since: clock.now() } };
    }
    const raw = containers.map((usage) => ({
      usage,
      verdict: evaluateContainer(usage, undefined, cpus > 0 ? cpus : undefined),
    }));
    const judged: ContainerView[] = raw.map(({ usage, verdict }) => {
      const ev = tracker.update('container', usage.container, id, verdict);
      if (ev) events.emit('health', ev);
      const held = tracker.current(usage.container) ?? { ...verdict, since: clock.now() };
      return {
        container: usage.container,
        ...(usage.task ? { task: usage.task } : {}),
        usage,
        verdict: held,
      };
    });
    const verdict = evaluateApp(id, raw, traffic.get(id));
    const ev = tracker.update('app', id, id, verdict);
    if (ev) events.emit('health', ev);
    return { judged, verdict: tracker.current(id) ?? { ...verdict, since: clock.now() } };
  }

  async function decideApp(k: Known, containers: ContainerView['usage'][], traffic: Traffic, now: number) {
    const { status, orchestrator } = k;
    const id = normalizeAppId(status.spec.id);
    const parsed = parseAutoscalePolicy(status.spec.labels);
    const t = traffic.get(id);
    const record = decide(
      {
        appId: id,
        now,
        policy: parsed.policy,
        current: status.spec.instances,
        appCpus: status.spec.cpus,
        tasks: decisionTasks(status, containers),
        deploymentRunning: status.deployments.length > 0,
        ...(t?.latencyP99 === undefined ? {} : { latencyP99: t.latencyP99 }),
        ...(t?.rps === undefined ? {} : { rps: t.rps }),
      },
      history,
    );
    if (record.action === 'scaled' && !orchestrator) {
      record.action = 'advised';
      record.reason += ' No orchestrator runs the app: advice only.';
    } else if (record.action === 'scaled' && !leads()) {
      record.action = 'advised';
      record.reason += ' Another hub of the group leads and scales: advice only here.';
    }
    if (parsed.policy.mode === 'auto' && record.action === 'scaled' && orchestrator) {
      try {
        const result = await orchestrator.scale(status.spec.id, record.desired);
        if (result.deploymentId)
          emitDeployment(
            deployments.started(
              result.deploymentId,
              id,
              orchestrator.name,
              now,
              `autoscale to ${record.desired}`,
            ),
          );
      } catch (e) {
        record.action = 'none';
        record.error = scaleError(e, status);
        logger.warn('Autoscaler could not scale an app', { app: id, desired: record.desired, error: e });
      }
    }
    if (worthKeeping(record, lastKept.get(id))) {
      lastKept.set(id, record);
      await log.append(record);
      events.emit('decision', record);
    }
    return { parsed, record };
  }

  async function round(): Promise<void> {
    const now = clock.now();
    const window = { start: now - windowMs, end: now };
    const usages = await readContainerUsage(store, window);
    const nextKnown = await listAll(usages);
    const traffic = await readAppTraffic(store, window, { appIds: [...nextKnown.keys()] }).catch(
      (error: unknown) => {
        logger.warn('Could not read app traffic', { error });
        return new Map<string, AppTraffic>();
      },
    );
    const byApp = containersByApp(
      [...nextKnown.values()].map((k) => k.status),
      usages,
    );
    const nextViews = new Map<string, AppView>();
    const seen = new Set<string>();
    for (const [id, k] of nextKnown) {
      const containers = byApp.get(id) ?? [];
      const spec = k.status.spec;
      const { judged, verdict } = judgeHealth(k.status, containers, traffic);
      for (const c of judged) seen.add(c.container);
      seen.add(id);
      const perInstance = containers.map((u) => ({
        ...(u.cpu === undefined ? {} : { cpu: u.cpu }),
        ...(u.workingSet === undefined ? {} : { memBytes: u.workingSet }),
      }));
      if (perInstance.length > 0) advisor.observe(id, now, perInstance);
      // Scheduled jobs have no instance count to scale: their policy is shown, nothing decided.
      const scalable = spec.type !== 'Cron' && spec.type !== 'Task';
      const { parsed, record } = scalable
        ? await decideApp(k, containers, traffic, now)
        : { parsed: parseAutoscalePolicy(spec.labels), record: undefined };
      const advice = advisor.advise(id, { cpus: spec.cpus, mem: spec.mem, instances: spec.instances });
      nextViews.set(id, {
        id,
        project: projectOfAppId(id) ?? '',
        type: spec.type,
        orchestrator: k.orchestrator?.name ?? k.status.orchestrator,
        instances: spec.instances,
        spec,
        tasks: k.status.tasks,
        deployments: k.status.deployments,
        health: verdict,
        containers: judged,
        policy: parsed.policy,
        policyErrors: parsed.errors,
        ...(record ? { lastDecision: record } : {}),
        ...(advice ? { advice } : {}),
        evaluatedAt: now,
      });
    }
    for (const subject of tracker.subjects()) if (!seen.has(subject)) tracker.forget(subject);
    known = nextKnown;
    views = nextViews;
    if (options.publish && leads()) {
      const points = healthPoints(tracker.snapshot(), now);
      if (points.length > 0) options.publish(points);
    }
    await saveState();
  }

  function evaluate(): Promise<void> {
    if (!running) {
      running = round().finally(() => {
        running = undefined;
      });
    }
    return running;
  }

  function onEvent(event: OrchestratorEvent) {
    events.emit('orchestrator', event);
    emitDeployment(deployments.apply(event));
  }

  async function findApp(id: string): Promise<Known | undefined> {
    const hit = known.get(normalizeAppId(id));
    if (hit?.orchestrator) return hit;
    for (const o of orchestrators) {
      const status = await o.getApp(id);
      if (status) return { status, orchestrator: o };
    }
    return undefined;
  }

  return {
    start() {
      if (stopTimer) return;
      for (const o of orchestrators) watches.push(o.watch(onEvent));
      const tick = () => {
        evaluate().catch((error: unknown) => logger.error('Platform evaluation failed', { error }));
      };
      stopTimer = clock.setInterval(tick, intervalMs);
      tick();
    },
    evaluate,
    apps: () => [...views.values()].sort((a, b) => a.id.localeCompare(b.id)),
    app: (id) => views.get(normalizeAppId(id)),
    advice: () => [...views.values()].flatMap((v) => (v.advice ? [v.advice] : [])),
    decisions: (filter) => log.list(filter),
    deployments: () => deployments.list(),
    async deploy(input) {
      const checked = validateAppSpec(input);
      if (!checked.ok) {
        const where = checked.errors[0]?.field;
        throw new HubError(
          'INVALID_INPUT',
          `Invalid app: ${checked.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
          { details: checked.errors, ...(where ? { where } : {}) },
        );
      }
      const spec = checked.value;
      const orchestrator = pickOrchestrator(orchestrators, spec.type);
      if (!orchestrator)
        throw new HubError(
          'UNAVAILABLE',
          orchestrators.length === 0
            ? 'No orchestrator is configured: the platform runs in advice-only mode'
            : `No orchestrator runs ${spec.type} apps here (Cron apps need Chronos)`,
          { where: 'type' },
        );
      const result = await orchestrator.deploy(spec);
      const id = normalizeAppId(spec.id);
      if (result.deploymentId)
        emitDeployment(
          deployments.started(result.deploymentId, id, orchestrator.name, clock.now(), 'deploy requested'),
        );
      logger.info('Deployed an app', {
        app: id,
        orchestrator: orchestrator.name,
        deployment: result.deploymentId,
      });
      return result;
    },
    async scale(id, instances, opts = {}) {
      if (!Number.isInteger(instances) || instances < 0 || instances > 10_000)
        throw new HubError(
          'INVALID_INPUT',
          `Invalid instances "${instances}": a whole number from 0 to 10000`,
          {
            where: 'instances',
            details: [{ field: 'instances', message: 'a whole number from 0 to 10000' }],
          },
        );
      const k = await findApp(id);
      if (!k?.orchestrator)
        throw new HubError('NOT_FOUND', `No app "${id}" in any orchestrator`, { where: 'id' });
      const result = await k.orchestrator.scale(k.status.spec.id, instances, opts);
      if (result.deploymentId)
        emitDeployment(
          deployments.started(
            result.deploymentId,
            normalizeAppId(id),
            k.orchestrator.name,
            clock.now(),
            `scale to ${instances}`,
          ),
        );
      return result;
    },
    events,
    async close() {
      stopTimer?.();
      stopTimer = undefined;
      for (const w of watches.splice(0)) w.close();
      await running?.catch(() => undefined);
      await log.flush();
      await saveState();
      await Promise.all(orchestrators.map((o) => o.close().catch(() => undefined)));
      events.removeAllListeners();
    },
  };
}
