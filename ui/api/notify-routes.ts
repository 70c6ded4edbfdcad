/**
 * HTTP API of the notification pipeline: silences (CRUD and preview), acknowledgement, the
 * record of delivery attempts, who is on call, and the status of the groups. Every answer is
 * limited to the caller's projects: an alert's project is its `project` label, a silence's its
 * `project="…"` matcher; those without one are for callers who see all projects.
 */
import express, { type Response, Router } from 'express';
import { matchesAll, parseMatchers, projectOfMatchers } from '../../alerting/notify/matchers.ts';
import type { AlertView, NotifyPipeline } from '../../alerting/notify/pipeline.ts';
import {
  parseSilenceInput,
  type Silence,
  silenceState,
  silenceToJSON,
} from '../../alerting/notify/silences.ts';
import type { Matcher } from '../../alerting/notify/types.ts';
import { canAccessProject, type Principal } from '../../core/auth.ts';
import { HubError } from '../../core/errors.ts';
import type { AuditRecorder } from '../auth/audit-log.ts';
import type { ScopeGuard } from '../auth/http-auth.ts';

export type NotifyRoutesOptions = {
  pipeline: NotifyPipeline;
  auth: ScopeGuard;
  audit: AuditRecorder;
  /** Epoch ms now; defaults to the pipeline's clock. */
  now?: () => number;
};

function principal(res: Response): Principal {
  const p = res.locals['principal'] as Principal | undefined;
  if (!p) throw new HubError('UNAUTHORIZED', 'Authentication required');
  return p;
}

function mayProject(p: Principal, project: string | undefined, need: 'read' | 'write'): boolean {
  if (p.allProjects) return true;
  return project !== undefined && canAccessProject(p, project, need);
}

const alertVisible = (p: Principal, a: { labels: Record<string, string> }) =>
  mayProject(p, a.labels['project'], 'read');

function silenceProject(s: { matchers: Matcher[] }): string | undefined {
  return projectOfMatchers(s.matchers);
}

function queryList(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

function intParam(value: unknown, fallback: number, max: number, where: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new HubError('BAD_REQUEST', `${where} must be a whole number`, { where });
  return Math.min(n, max);
}

export function createNotifyRouter(options: NotifyRoutesOptions): Router {
  const { pipeline, auth, audit } = options;
  const now = options.now ?? (() => pipeline.now());
  const router = Router();
  const read = auth.need('read');
  const write = auth.need('write');
  const body = express.json({ limit: '256kb' });

  const visibleSilence = (p: Principal, id: string): Silence => {
    const s = pipeline.silences.get(id);
    if (!s || !mayProject(p, silenceProject(s), 'read'))
      throw new HubError('NOT_FOUND', `No silence ${id}`, { where: 'id' });
    return s;
  };
  const checkWritable = (p: Principal, matchers: Matcher[]) => {
    const project = projectOfMatchers(matchers);
    if (!mayProject(p, project, 'write'))
      throw new HubError(
        'FORBIDDEN',
        project === undefined
          ? 'A silence needs a project="…" matcher for one of your projects'
          : `You may not change project ${project}`,
        { where: 'matchers' },
      );
    return project;
  };
  const audited = (res: Response, action: string, s: Silence) =>
    audit.record({
      actor: principal(res).name,
      action,
      target: s.id,
      details: {
        ...(silenceProject(s) !== undefined ? { project: silenceProject(s) } : {}),
        matchers: s.matchers.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`),
        startsAt: s.startsAt,
        endsAt: s.endsAt,
        comment: s.comment,
        ...(s.recurrence ? { recurrence: s.recurrence } : {}),
      },
    });

  router.get('/api/silences', read, (req, res) => {
    const p = principal(res);
    const t = now();
    const state = typeof req.query['state'] === 'string' ? req.query['state'] : undefined;
    res.json(
      pipeline.silences
        .list()
        .filter((s) => mayProject(p, silenceProject(s), 'read'))
        .filter((s) => state === undefined || silenceState(s, t) === state)
        .map((s) => silenceToJSON(s, t)),
    );
  });

  router.get('/api/silences/preview', read, (req, res) => {
    const p = principal(res);
    const texts = queryList(req.query['matchers']).concat(queryList(req.query['filter']));
    if (texts.length === 0)
      throw new HubError('BAD_REQUEST', 'Give matchers=… (e.g. matchers={severity="page",app=~"push.*"})', {
        where: 'matchers',
      });
    const matchers = texts.flatMap((t) => parseMatchers(t, 'matchers'));
    const alerts: AlertView[] = pipeline
      .alerts(now())
      .filter((a) => a.status === 'firing' && alertVisible(p, a) && matchesAll(matchers, a.labels));
    res.json({ matchers: matchers.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`), alerts });
  });

  router.get('/api/silences/:id', read, (req, res) => {
    res.json(silenceToJSON(visibleSilence(principal(res), req.params['id'] as string), now()));
  });

  router.post('/api/silences', write, body, async (req, res) => {
    const p = principal(res);
    const fields = parseSilenceInput(req.body, p.name, now());
    checkWritable(p, fields.matchers);
    const id = (req.body as { id?: unknown }).id;
    if (typeof id === 'string' && id !== '') {
      checkWritable(p, visibleSilence(p, id).matchers);
      const s = await pipeline.silences.update(id, fields);
      await audited(res, 'silence.update', s);
      return res.json({ silenceID: s.id, silence: silenceToJSON(s, now()) });
    }
    const s = await pipeline.silences.create(fields);
    await audited(res, 'silence.create', s);
    res.json({ silenceID: s.id, silence: silenceToJSON(s, now()) });
  });

  router.put('/api/silences/:id', write, body, async (req, res) => {
    const p = principal(res);
    const id = req.params['id'] as string;
    checkWritable(p, visibleSilence(p, id).matchers);
    const fields = parseSilenceInput({ ...(req.body as object), id: undefined }, p.name, now());
    checkWritable(p, fields.matchers);
    const s = await pipeline.silences.update(id, fields);
    await audited(res, 'silence.update', s);
    res.json({ silenceID: s.id, silence: silenceToJSON(s, now()) });
  });

  router.delete('/api/silences/:id', write, async (req, res) => {
    const p = principal(res);
    const id = req.params['id'] as string;
    checkWritable(p, visibleSilence(p, id).matchers);
    const s = await pipeline.silences.expire(id);
    await audited(res, 'silence.expire', s);
    res.json(silenceToJSON(s, now()));
  });

  router.post('/api/alerts/:fingerprint/ack', write, async (req, res) => {
    const p = principal(res);
    const fingerprint = req.params['fingerprint'] as string;
    const alert = pipeline.alerts(now()).find((a) => a.fingerprint === fingerprint && a.status === 'firing');
    if (!alert || !alertVisible(p, alert))
      throw new HubError('NOT_FOUND', `No firing alert with fingerprint ${fingerprint}`, {
        where: 'fingerprint',
      });
    if (!mayProject(p, alert.labels['project'], 'write'))
      throw new HubError('FORBIDDEN', `You may not acknowledge alerts of project ${alert.labels['project']}`);
    const { ack, stopped } = await pipeline.ack(fingerprint, p.name);
    await audit.record({
      actor: p.name,
      action: 'alert.ack',
      target: fingerprint,
      details: {
        ...(alert.labels['project'] !== undefined ? { project: alert.labels['project'] } : {}),
        alertname: alert.labels['alertname'],
        startsAt: alert.startsAt,
        stoppedEscalations: stopped.map((i) => i.team),
      },
    });
    res.json({
      ...ack,
      stoppedEscalations: stopped.map((i) => ({ team: i.team, groupKey: i.groupKey, level: i.level })),
    });
  });

  router.get('/api/notifications', read, (req, res) => {
    const p = principal(res);
    const q = req.query;
    res.json(
      pipeline.attempts.list({
        limit: intParam(q['limit'], 100, 2000, 'limit'),
        ...(typeof q['receiver'] === 'string' ? { receiver: q['receiver'] } : {}),
        ...(typeof q['groupKey'] === 'string' ? { groupKey: q['groupKey'] } : {}),
        ...(q['since'] !== undefined
          ? { since: intParam(q['since'], 0, Number.MAX_SAFE_INTEGER, 'since') }
          : {}),
        ...(q['ok'] === 'true' || q['ok'] === 'false' ? { ok: q['ok'] === 'true' } : {}),
        projects: p.allProjects ? 'all' : [...p.projects.keys()],
      }),
    );
  });

  router.get('/api/oncall', read, (_req, res) => {
    const p = principal(res);
    res.json(
      pipeline.oncall(now()).map((team) => ({
        ...team,
        incidents: team.incidents.filter((i) => i.alerts.every((a) => alertVisible(p, a))),
      })),
    );
  });

  router.get('/api/alert-groups', read, (_req, res) => {
    const p = principal(res);
    res.json(
      pipeline
        .groups(now())
        .map((g) => ({ ...g, alerts: g.alerts.filter((a) => alertVisible(p, a)) }))
        .filter((g) => g.alerts.length > 0),
    );
  });

  return router;
}
