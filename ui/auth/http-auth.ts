/**
 * Authentication and authorisation over HTTP and socket.io: bearer tokens, Basic (a token or a
 * user's password, for tools like Grafana), and login sessions in HTTP-only SameSite cookies with
 * a CSRF token for state-changing requests.
 */
import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Socket } from 'socket.io';
import { hasScope, OPEN_PRINCIPAL, type Principal, type Scope } from '../../core/auth.ts';
import type { Clock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import type { AuditLog } from './audit-log.ts';
import type { IdentityStore } from './identity-store.ts';
import { randomId } from './secrets.ts';

export const SESSION_COOKIE = 'obs_session';
const SESSION_TTL = 12 * 3_600_000;
const BASIC_CACHE_TTL = 60_000;

type Session = { user: string; csrf: string; expiresAt: number };

/** What a module's routes need of authentication: a guard per scope. */
export type ScopeGuard = { need(scope: Scope): RequestHandler };

export type Auth = {
  /** Sets `res.locals.principal` from the request's credentials, or leaves it unset. */
  authenticate: RequestHandler;
  /** 401 for a request without a principal on a protected path; CSRF check for cookie sessions. */
  gate: RequestHandler;
  /** Route guard: the principal must hold this scope. */
  need(scope: Scope): RequestHandler;
  /** Starts a session; returns the cookie value and the CSRF token. */
  login(user: string, password: string, req: Request): Promise<{ session: string; csrf: string } | undefined>;
  logout(req: Request): void;
  sessionOf(req: Request): Session | undefined;
  /** socket.io middleware: refuses a connection without credentials when authentication is on. */
  socketMiddleware(socket: Socket, next: (err?: Error) => void): void;
  /** Whether every request must authenticate now. */
  required(): boolean;
};

export function principalOf(res: Response): Principal {
  const p = res.locals['principal'] as Principal | undefined;
  if (!p) throw new HubError('UNAUTHORIZED', 'Authentication required');
  return p;
}

/**
 * Paths anyone may fetch: the health check, logging in, and the pages' static files (which hold
 * no data). Everything else, including any route added later, needs a principal.
 */
const PUBLIC_EXACT = new Set(['/healthz', '/api/login', '/api/session', '/api/logout']);
const STATIC_RE = /^\/(?:[\w.-]+\.(?:html|js|mjs|css|svg|png|ico|map)|(?:lib|vendor)\/[\w./-]+)?$/;

export function isPublicPath(path: string): boolean {
  return PUBLIC_EXACT.has(path) || (STATIC_RE.test(path) && !path.includes('..'));
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

export function createAuth(options: {
  identities: IdentityStore;
  clock: Clock;
  audit: AuditLog;
  alwaysRequired?: boolean;
}): Auth {
  const { identities, clock, audit } = options;
  const sessions = new Map<string, Session>();
  const basicCache = new Map<string, { principal: Principal; until: number }>();
  const required = () => options.alwaysRequired === true || identities.configured();

  function fromSession(
    cookieHeader: string | undefined,
  ): { principal: Principal; session: Session } | undefined {
    const id = parseCookies(cookieHeader)[SESSION_COOKIE];
    const session = id ? sessions.get(id) : undefined;
    if (!id || !session) return undefined;
    if (session.expiresAt <= clock.now()) {
      sessions.delete(id);
      return undefined;
    }
    const principal = identities.principalOf(session.user);
    if (!principal) {
      sessions.delete(id);
      return undefined;
    }
    session.expiresAt = clock.now() + SESSION_TTL;
    return { principal, session };
  }

  function fromToken(secret: string): Principal {
    const check = identities.checkToken(secret);
    if (!check.ok)
      throw new HubError(
        'UNAUTHORIZED',
        `The token is ${check.reason === 'unknown' ? 'not valid' : check.reason}`,
      );
    return check.principal;
  }

  async function fromBasic(encoded: string): Promise<Principal> {
    const key = createHash('sha256').update(encoded).digest('hex');
    const hit = basicCache.get(key);
    if (hit && hit.until > clock.now()) return hit.principal;
    const text = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    const user = text.slice(0, colon);
    const password = text.slice(colon + 1);
    const principal = password.startsWith('obs_')
      ? fromToken(password)
      : await identities.login(user, password);
    if (!principal) throw new HubError('UNAUTHORIZED', 'Wrong user name or password');
    if (!password.startsWith('obs_'))
      basicCache.set(key, { principal, until: clock.now() + BASIC_CACHE_TTL });
    return principal;
  }

  async function resolve(
    authorization: string | undefined,
    cookie: string | undefined,
  ): Promise<{ principal?: Principal; viaCookie?: Session }> {
    if (authorization) {
      const [kind, value = ''] = authorization.split(/\s+/, 2);
      if (/^bearer$/i.test(kind ?? '')) return { principal: fromToken(value) };
      if (/^basic$/i.test(kind ?? '')) return { principal: await fromBasic(value) };
      throw new HubError('UNAUTHORIZED', `Unsupported authorization scheme "${kind}": use Bearer or Basic`);
    }
    const s = fromSession(cookie);
    if (s) return { principal: s.principal, viaCookie: s.session };
    return {};
  }

  const authenticate: RequestHandler = (req, res, next) => {
    void identities
      .refresh()
      .then(() => resolve(req.headers.authorization, req.headers.cookie))
      .then(({ principal, viaCookie }) => {
        if (principal) res.locals['principal'] = principal;
        else if (!required()) res.locals['principal'] = OPEN_PRINCIPAL;
        if (viaCookie) res.locals['session'] = viaCookie;
        next();
      }, next);
  };

  const gate: RequestHandler = (req, res, next) => {
    if (isPublicPath(req.path)) return next();
    if (!res.locals['principal']) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="obs"');
      return next(
        new HubError(
          'UNAUTHORIZED',
          'Authentication required: send "Authorization: Bearer <token>" or log in at /login.html',
        ),
      );
    }
    const session = res.locals['session'] as Session | undefined;
    const changes = !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
    if (session && changes && req.headers['x-csrf-token'] !== session.csrf)
      return next(
        new HubError(
          'FORBIDDEN',
          'Missing or wrong X-CSRF-Token header for a request made with a session cookie',
        ),
      );
    next();
  };

  return {
    authenticate,
    gate,
    need: (scope) => (_req: Request, res: Response, next: NextFunction) => {
      const p = res.locals['principal'] as Principal | undefined;
      if (!p) return next(new HubError('UNAUTHORIZED', 'Authentication required'));
      if (!hasScope(p, scope))
        return next(
          new HubError(
            'FORBIDDEN',
            `This needs the "${scope}" scope, which ${p.kind} ${p.name} does not have`,
          ),
        );
      next();
    },
    async login(user, password, req) {
      const principal = await identities.login(user, password);
      await audit.record({
        actor: user,
        action: principal ? 'login' : 'login.failed',
        target: user,
        details: { ip: req.ip },
      });
      if (!principal) return undefined;
      const session = randomId();
      const csrf = randomId(18);
      sessions.set(session, { user, csrf, expiresAt: clock.now() + SESSION_TTL });
      return { session, csrf };
    },
    logout(req) {
      const id = parseCookies(req.headers.cookie)[SESSION_COOKIE];
      if (id) sessions.delete(id);
    },
    sessionOf: (req) => fromSession(req.headers.cookie)?.session,
    socketMiddleware(socket, next) {
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      const authorization =
        typeof token === 'string' ? `Bearer ${token}` : socket.handshake.headers.authorization;
      void identities
        .refresh()
        .then(() => resolve(authorization, socket.handshake.headers.cookie))
        .then(({ principal }) => {
          const p = principal ?? (required() ? undefined : OPEN_PRINCIPAL);
          if (!p) return next(Object.assign(new Error('unauthorized'), { data: { code: 401 } }));
          if (!hasScope(p, 'read'))
            return next(Object.assign(new Error('forbidden'), { data: { code: 403 } }));
          socket.data['principal'] = p;
          next();
        })
        .catch(() => next(Object.assign(new Error('unauthorized'), { data: { code: 401 } })));
    },
    required,
  };
}
