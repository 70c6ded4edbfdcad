/** Log in and out, the session, users, tokens and the audit log, over HTTP. */
import express, { type Request, type Response, Router } from 'express';
import { hasScope, type Principal, SCOPES, type Scope, visibleProjects } from '../../core/auth.ts';
import type { Clock } from '../../core/clock.ts';
import { parseDuration } from '../../core/duration.ts';
import { HubError } from '../../core/errors.ts';
import type { AuditLog } from '../auth/audit-log.ts';
import { type Auth, principalOf, SESSION_COOKIE } from '../auth/http-auth.ts';
import { checkProjects, type IdentityStore } from '../auth/identity-store.ts';

export type AuthRoutesOptions = {
  auth: Auth;
  identities: IdentityStore;
  audit: AuditLog;
  clock: Clock;
  secureCookies: boolean;
};

const body = express.json({ limit: '64kb' });
const form = express.urlencoded({ extended: false, limit: '64kb' });

function field(req: Request, name: string): string {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  if (typeof v !== 'string' || v === '')
    throw new HubError('BAD_REQUEST', `Missing field "${name}"`, { where: name });
  return v;
}

function describePrincipal(p: Principal) {
  return {
    kind: p.kind,
    name: p.name,
    scopes: [...p.scopes].sort(),
    projects: visibleProjects(p),
    roles: Object.fromEntries(p.projects),
  };
}

export function createAuthRouter(options: AuthRoutesOptions): Router {
  const { auth, identities, audit, clock } = options;
  const router = Router();
  const admin = auth.need('admin');
  const cookie = (res: Response, value: string, maxAge: number) =>
    res.cookie(SESSION_COOKIE, value, {
      httpOnly: true,
      sameSite: 'strict',
      secure: options.secureCookies,
      path: '/',
      maxAge,
    });

  router.post('/api/login', body, form, async (req, res) => {
    const started = await auth.login(field(req, 'user'), field(req, 'password'), req);
    if (!started) throw new HubError('UNAUTHORIZED', 'Wrong user name or password');
    cookie(res, started.session, 12 * 3_600_000);
    if (req.is('application/x-www-form-urlencoded')) return res.redirect(303, '/');
    res.json({ csrf: started.csrf });
  });

  router.post('/api/logout', (req, res) => {
    auth.logout(req);
    cookie(res, '', 0);
    res.status(204).end();
  });

  router.get('/api/session', (req, res) => {
    const p = res.locals['principal'] as Principal | undefined;
    res.json({
      authRequired: auth.required(),
      principal: p ? describePrincipal(p) : null,
      csrf: auth.sessionOf(req)?.csrf ?? null,
    });
  });

  router.get('/api/users', admin, (_req, res) => {
    res.json(identities.users().map(({ passwordHash: _, ...u }) => u));
  });
  router.post('/api/users', admin, body, async (req, res) => {
    const b = req.body as Record<string, unknown>;
    const projects = checkProjects((b['projects'] ?? {}) as Record<string, string>);
    const user = await identities.addUser({
      name: field(req, 'name'),
      password: field(req, 'password'),
      admin: b['admin'] === true,
      projects,
    });
    await audit.record({
      actor: principalOf(res).name,
      action: 'user.add',
      target: user.name,
      details: { admin: user.admin, projects },
    });
    res.status(201).json({ name: user.name, admin: user.admin, projects: user.projects });
  });
  router.delete('/api/users/:name', admin, async (req, res) => {
    const name = String(req.params['name']);
    await identities.removeUser(name);
    await audit.record({ actor: principalOf(res).name, action: 'user.remove', target: name });
    res.status(204).end();
  });

  const ownTokens = (p: Principal) =>
    identities.tokens().filter((t) => hasScope(p, 'admin') || t.owner === p.name);
  router.get('/api/tokens', (_req, res) => {
    res.json(ownTokens(principalOf(res)).map(({ hash: _, ...t }) => t));
  });
  router.post('/api/tokens', body, async (req, res) => {
    const p = principalOf(res);
    if (p.kind !== 'user' && !hasScope(p, 'admin'))
      throw new HubError('FORBIDDEN', 'Tokens are made by users, not by other tokens');
    const b = req.body as Record<string, unknown>;
    const scopes = (Array.isArray(b['scopes']) ? b['scopes'] : []) as Scope[];
    const bad = scopes.find((s) => !(SCOPES as readonly string[]).includes(s));
    if (bad)
      throw new HubError('BAD_REQUEST', `Invalid scope "${bad}": one of ${SCOPES.join(', ')}`, {
        where: 'scopes',
      });
    const projects = Array.isArray(b['projects']) ? (b['projects'] as string[]) : null;
    const expires =
      typeof b['expires'] === 'string' ? clock.now() + parseDuration(b['expires'], 'expires') : null;
    const owner = p.kind === 'user' ? p.name : null;
    const { token, secret } = await identities.createToken({
      name: field(req, 'name'),
      owner,
      scopes,
      projects,
      expiresAt: expires,
    });
    await audit.record({
      actor: p.name,
      action: 'token.create',
      target: token.id,
      details: { name: token.name, scopes, projects },
    });
    res.status(201).json({
      id: token.id,
      name: token.name,
      scopes: token.scopes,
      projects: token.projects,
      expiresAt: token.expiresAt,
      token: secret,
    });
  });
  router.delete('/api/tokens/:id', async (req, res) => {
    const p = principalOf(res);
    const id = String(req.params['id']);
    if (!ownTokens(p).some((t) => t.id === id))
      throw new HubError('NOT_FOUND', `No token ${id} of yours`, { where: 'id' });
    await identities.revokeToken(id);
    await audit.record({ actor: p.name, action: 'token.revoke', target: id });
    res.status(204).end();
  });

  router.get('/api/audit', auth.need('read'), async (req, res) => {
    const p = principalOf(res);
    const limit = Number(req.query['limit'] ?? 200);
    const entries = await audit.list({
      limit: Number.isInteger(limit) && limit > 0 ? Math.min(limit, 5000) : 200,
      ...(typeof req.query['actor'] === 'string' ? { actor: req.query['actor'] } : {}),
      ...(typeof req.query['action'] === 'string' ? { action: req.query['action'] } : {}),
      projects: visibleProjects(p),
    });
    res.json(entries);
  });
  return router;
}
