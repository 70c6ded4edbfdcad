/**
 * The platform over HTTP: apps with health, capacity advice, the autoscaler's decisions and the
 * deployments; deploying and scaling. Reads need `read`, changes `write` and write access to the
 * app's project (its id's first segment, `/project/app`); every answer is limited to the caller's
 * projects, and every change is audited. Refusals by a validator answer 422 with one
 * `details` entry per field, so the deploy form can show each error beside its field.
 */
import express, { type ErrorRequestHandler, type Response, Router } from 'express';
import { canAccessProject, type Principal } from '../../core/auth.ts';
import { HubError, toHubError } from '../../core/errors.ts';
import type { Platform } from '../../platform/service.ts';
import { projectOfAppId } from '../../platform/service-match.ts';
import type { AuditRecorder } from '../auth/audit-log.ts';
import type { ScopeGuard } from '../auth/http-auth.ts';

export type PlatformRoutesOptions = {
  platform: Platform;
  auth: ScopeGuard;
  audit: AuditRecorder;
};

const body = express.json({ limit: '256kb' });
const PREFIX = '/api/platform';

function principalOf(res: Response): Principal {
  const p = res.locals['principal'] as Principal | undefined;
  if (!p) throw new HubError('UNAUTHORIZED', 'Authentication required');
  return p;
}

/** Whether the caller may see (or change) the app: by the project its id starts with. */
function sees(p: Principal, appId: string, need: 'read' | 'write' = 'read'): boolean {
  if (p.allProjects) return true;
  const project = projectOfAppId(appId);
  return project !== undefined && canAccessProject(p, project, need);
}

function idOf(project: unknown, app: unknown): string {
  return `/${String(project ?? '')}/${String(app ?? '')}`;
}

function limitParam(value: unknown): number {
  if (value === undefined || value === '') return 200;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new HubError('BAD_REQUEST', `Invalid 'limit' "${String(value)}": 1 to 10000`, { where: 'limit' });
  return n;
}

/** Answers this router's errors with their field details (the hub's handler leaves them out). */
const onError: ErrorRequestHandler = (err, req, res, next) => {
  if (!req.path.startsWith(PREFIX) || res.headersSent) return next(err);
  const e = toHubError(err);
  if (e.status >= 500) return next(err);
  res.status(e.status).json({
    error: {
      code: e.status,
      message: e.message,
      type: e.code,
      ...(e.where ? { where: e.where } : {}),
      ...(e.details ? { details: e.details } : {}),
    },
  });
};

export function createPlatformRouter(options: PlatformRoutesOptions): Router {
  const { platform, auth, audit } = options;
  const router = Router();
  const read = auth.need('read');
  const write = auth.need('write');

  router.get(`${PREFIX}/apps`, read, (_req, res) => {
    const p = principalOf(res);
    res.json(platform.apps().filter((a) => sees(p, a.id)));
  });

  router.get(`${PREFIX}/apps/:project/:app`, read, (req, res) => {
    const id = idOf(req.params['project'], req.params['app']);
    const app = platform.app(id);
    if (!app || !sees(principalOf(res), id))
      throw new HubError('NOT_FOUND', `No app "${id}"`, { where: 'app' });
    res.json(app);
  });

  router.get(`${PREFIX}/advice`, read, (_req, res) => {
    const p = principalOf(res);
    res.json(platform.advice().filter((a) => sees(p, a.appId)));
  });

  router.get(`${PREFIX}/decisions`, read, (req, res) => {
    const p = principalOf(res);
    const app = req.query['app'];
    const limit = limitParam(req.query['limit']);
    res.json(
      platform.decisions({
        limit,
        accept: (id) => sees(p, id),
        ...(typeof app === 'string' && app !== '' ? { appId: app.startsWith('/') ? app : `/${app}` } : {}),
      }),
    );
  });

  router.get(`${PREFIX}/deployments`, read, (_req, res) => {
    const p = principalOf(res);
    res.json(platform.deployments().filter((d) => d.appId !== '' && sees(p, d.appId)));
  });

  router.post(`${PREFIX}/apps`, write, body, async (req, res) => {
    const p = principalOf(res);
    const spec: unknown = req.body;
    const rawId = (spec as { id?: unknown } | null)?.id;
    const id = typeof rawId === 'string' ? rawId : '';
    // An id without a project can only be refused by the validator, which says what is wrong with it.
    if (projectOfAppId(id) !== undefined && id.includes('/') && !sees(p, id, 'write'))
      throw new HubError('FORBIDDEN', `No write access to project "${projectOfAppId(id)}" of app "${id}"`, {
        where: 'id',
      });
    const result = await platform.deploy(spec);
    const s = spec as { image?: unknown; instances?: unknown; type?: unknown };
    await audit.record({
      actor: p.name,
      action: 'app.deploy',
      target: id,
      details: {
        project: projectOfAppId(id),
        type: s.type,
        image: s.image,
        instances: s.instances,
        ...(result.deploymentId ? { deploymentId: result.deploymentId } : {}),
      },
    });
    res.status(202).json(result);
  });

  router.put(`${PREFIX}/apps/:project/:app/instances`, write, body, async (req, res) => {
    const p = principalOf(res);
    const id = idOf(req.params['project'], req.params['app']);
    if (!sees(p, id, 'write'))
      throw new HubError('FORBIDDEN', `No write access to project "${req.params['project']}"`, {
        where: 'project',
      });
    const b = (req.body ?? {}) as { instances?: unknown; force?: unknown };
    const instances = typeof b.instances === 'number' ? b.instances : Number.NaN;
    if (!Number.isInteger(instances))
      throw new HubError('INVALID_INPUT', 'Body must be { "instances": <whole number> }', {
        where: 'instances',
        details: [{ field: 'instances', message: 'a whole number from 0 to 10000' }],
      });
    const result = await platform.scale(id, instances, { force: b.force === true });
    await audit.record({
      actor: p.name,
      action: 'app.scale',
      target: id,
      details: {
        project: req.params['project'],
        instances,
        force: b.force === true,
        ...(result.deploymentId ? { deploymentId: result.deploymentId } : {}),
      },
    });
    res.status(202).json(result);
  });

  router.use(onError);
  return router;
}
