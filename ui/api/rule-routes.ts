/**
 * The rule engine over HTTP: rules (with state, last evaluation and the rule files' errors),
 * active alerts and the alert history. Reads need `read`, changes `write`; every answer is
 * limited to the caller's projects (a rule's or alert's project is its `project` label; those
 * without one are seen by callers of all projects only), and every change is audited.
 */
import express, { type Response, Router } from 'express';
import type { RuleEngine } from '../../alerting/engine/engine.ts';
import type { HistoryQuery } from '../../alerting/engine/history.ts';
import { canAccessProject, type Principal, visibleProjects } from '../../core/auth.ts';
import { parseDuration } from '../../core/duration.ts';
import { HubError } from '../../core/errors.ts';
import type { AuditRecorder } from '../auth/audit-log.ts';
import type { ScopeGuard } from '../auth/http-auth.ts';

export type RuleRoutesOptions = {
  engine: RuleEngine;
  auth: ScopeGuard;
  audit: AuditRecorder;
  /** For `since=15m` (relative) in history queries; default Date.now. */
  now?: () => number;
};

const body = express.json({ limit: '256kb' });

function principalOf(res: Response): Principal {
  const p = res.locals['principal'] as Principal | undefined;
  if (!p) throw new HubError('UNAUTHORIZED', 'Authentication required');
  return p;
}

function sees(p: Principal, project: string | undefined, need: 'read' | 'write' = 'read'): boolean {
  if (p.allProjects) return true;
  return project !== undefined && canAccessProject(p, project, need);
}

function projectOf(spec: unknown): string | undefined {
  const labels = (spec as { labels?: unknown } | null)?.labels;
  const v = labels && typeof labels === 'object' ? (labels as Record<string, unknown>)['project'] : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** A change is allowed when the caller may write the rule's project (or all projects, for none). */
function checkWrite(p: Principal, project: string | undefined, name: string): void {
  if (sees(p, project, 'write')) return;
  throw new HubError(
    'FORBIDDEN',
    project === undefined
      ? `Rule "${name}" has no project label: only callers with access to every project may change it; add labels.project`
      : `No write access to project "${project}" of rule "${name}"`,
    { where: 'labels.project' },
  );
}

function timeParam(value: unknown, name: string, now: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const text = String(value);
  if (/^\d+$/.test(text)) return Number(text) < 1e11 ? Number(text) * 1000 : Number(text);
  const iso = Date.parse(text);
  if (!Number.isNaN(iso) && /^\d{4}-/.test(text)) return iso;
  try {
    return now - parseDuration(text.replace(/-ago$/, ''), name);
  } catch {
    throw new HubError(
      'BAD_REQUEST',
      `Invalid '${name}' "${text}": epoch seconds or ms, ISO time, or an age like 1h`,
      {
        where: name,
      },
    );
  }
}

export function createRuleRouter(options: RuleRoutesOptions): Router {
  const { engine, auth, audit } = options;
  const now = options.now ?? Date.now;
  const router = Router();
  const read = auth.need('read');
  const write = auth.need('write');
  const name = (v: unknown) => String(v ?? '');

  router.get('/api/rules', read, (_req, res) => {
    const p = principalOf(res);
    const rules = engine.rules().filter((r) => sees(p, r.project));
    const errors = p.allProjects ? engine.errors() : [];
    res.json({ rules, errors });
  });

  router.get('/api/rules/:name', read, (req, res) => {
    const rule = engine.rule(name(req.params['name']));
    if (!rule || !sees(principalOf(res), rule.project))
      throw new HubError('NOT_FOUND', `No rule "${name(req.params['name'])}"`, { where: 'name' });
    res.json(rule);
  });

  router.post('/api/rules', write, body, async (req, res) => {
    const p = principalOf(res);
    const spec: unknown = req.body;
    const ruleName = name((spec as { name?: unknown } | null)?.name);
    checkWrite(p, projectOf(spec), ruleName);
    const scope = visibleProjects(p);
    const created = await engine.createRule(spec, { name: p.name, ...(scope === 'all' ? {} : { scope }) });
    await audit.record({
      actor: p.name,
      action: 'rule.create',
      target: created.name,
      details: { project: created.project, expr: created.spec.expr },
    });
    res.status(201).json(created);
  });

  router.put('/api/rules/:name', write, body, async (req, res) => {
    const p = principalOf(res);
    const ruleName = name(req.params['name']);
    const before = engine.rule(ruleName);
    if (!before || !sees(p, before.project))
      throw new HubError('NOT_FOUND', `No rule "${ruleName}"`, { where: 'name' });
    checkWrite(p, before.project, ruleName);
    const spec = { name: ruleName, ...(req.body as object) };
    checkWrite(p, projectOf(spec), ruleName);
    const scope = visibleProjects(p);
    const updated = await engine.updateRule(ruleName, spec, {
      name: p.name,
      ...(scope === 'all' ? {} : { scope }),
    });
    await audit.record({
      actor: p.name,
      action: 'rule.update',
      target: ruleName,
      details: { project: updated.project, expr: updated.spec.expr },
    });
    res.json(updated);
  });

  router.delete('/api/rules/:name', write, async (req, res) => {
    const p = principalOf(res);
    const ruleName = name(req.params['name']);
    const before = engine.rule(ruleName);
    if (!before || !sees(p, before.project))
      throw new HubError('NOT_FOUND', `No rule "${ruleName}"`, { where: 'name' });
    checkWrite(p, before.project, ruleName);
    await engine.deleteRule(ruleName);
    await audit.record({
      actor: p.name,
      action: 'rule.delete',
      target: ruleName,
      details: { project: before.project },
    });
    res.status(204).end();
  });

  router.get('/api/alerts', read, (req, res) => {
    const p = principalOf(res);
    const rule = req.query['rule'];
    const state = req.query['state'];
    res.json(
      engine
        .alerts()
        .filter((a) => sees(p, a.labels['project']))
        .filter((a) => rule === undefined || a.rule === rule)
        .filter((a) => state === undefined || a.state === state),
    );
  });

  router.get('/api/alerts/history', read, async (req, res) => {
    const p = principalOf(res);
    const at = now();
    const q: HistoryQuery = {};
    if (typeof req.query['rule'] === 'string') q.rule = req.query['rule'];
    if (typeof req.query['app'] === 'string') q.app = req.query['app'];
    if (typeof req.query['fingerprint'] === 'string') q.fingerprint = req.query['fingerprint'];
    const since = timeParam(req.query['since'], 'since', at);
    const until = timeParam(req.query['until'], 'until', at);
    if (since !== undefined) q.since = since;
    if (until !== undefined) q.until = until;
    const limit = req.query['limit'] === undefined ? 500 : Number(req.query['limit']);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw new HubError('BAD_REQUEST', `Invalid 'limit' "${req.query['limit']}": 1 to 10000`, {
        where: 'limit',
      });
    q.limit = limit;
    const projects = visibleProjects(p);
    if (projects !== 'all') q.projects = projects;
    res.json(await engine.history(q));
  });

  return router;
}
