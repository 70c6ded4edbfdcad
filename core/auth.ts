/**
 * Who may see and change what: scopes, per-project roles and the principal of a request, as
 * pure data and pure checks. Storage and HTTP live in `ui/auth/`.
 */
export const SCOPES = ['ingest', 'read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const ROLES = ['viewer', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type UserRecord = {
  name: string;
  /** `scrypt$N$r$p$salt$hash`, base64 parts. */
  passwordHash: string;
  /** Sees and changes everything. */
  admin: boolean;
  projects: Record<string, Role>;
  createdAt: number;
};

export type TokenRecord = {
  id: string;
  name: string;
  /** The user whose rights the token narrows; null for tokens made on the command line for agents. */
  owner: string | null;
  /** sha256 of the secret, hex. */
  hash: string;
  scopes: Scope[];
  /** Projects the token is limited to; null = all the owner's (or any, for an ownerless ingest token). */
  projects: string[] | null;
  expiresAt: number | null;
  createdAt: number;
  revokedAt: number | null;
};

export type Principal = {
  kind: 'user' | 'token' | 'anonymous';
  name: string;
  scopes: ReadonlySet<Scope>;
  /** Project → role; ignored when `allProjects`. */
  projects: ReadonlyMap<string, Role>;
  allProjects: boolean;
  /** Id of the token used, for rate limits and audit. */
  tokenId?: string;
};

const ALL_SCOPES: ReadonlySet<Scope> = new Set(SCOPES);

/** The caller on a loopback hub without any user: everything is allowed (first-run convenience). */
export const OPEN_PRINCIPAL: Principal = {
  kind: 'anonymous',
  name: 'anonymous',
  scopes: ALL_SCOPES,
  projects: new Map(),
  allProjects: true,
};

const ROLE_RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 };

export function principalForUser(user: UserRecord): Principal {
  const projects = new Map(Object.entries(user.projects));
  const scopes = new Set<Scope>(user.admin ? SCOPES : []);
  if (!user.admin && projects.size > 0) scopes.add('read');
  if (!user.admin && [...projects.values()].some((r) => ROLE_RANK[r] >= ROLE_RANK.editor))
    scopes.add('write');
  return { kind: 'user', name: user.name, scopes, projects, allProjects: user.admin };
}

/**
 * A token's rights: its own scopes and projects, never more than its owner's. Tokens made on the
 * command line have no owner: whoever can run `obs tokens` on the data dir is an operator.
 */
export function principalForToken(token: TokenRecord, owner: UserRecord | undefined): Principal {
  const o: Principal = owner
    ? principalForUser(owner)
    : { ...OPEN_PRINCIPAL, kind: 'user', name: 'operator' };
  const scopes = new Set<Scope>(
    token.scopes.filter(
      (s) => o.scopes.has('admin') || o.scopes.has(s) || (s === 'ingest' && o.scopes.has('write')),
    ),
  );
  const base = { kind: 'token' as const, name: token.name, scopes, tokenId: token.id };
  if (o.allProjects) {
    const projects = new Map((token.projects ?? []).map((p) => [p, 'admin' as Role]));
    return { ...base, projects, allProjects: token.projects === null };
  }
  const limit = token.projects;
  const projects = new Map([...o.projects].filter(([p]) => limit === null || limit.includes(p)));
  return { ...base, projects, allProjects: false };
}

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.has('admin') || p.scopes.has(scope);
}

/** Whether the principal may read (viewer) or change (editor) a project's data. */
export function canAccessProject(p: Principal, project: string, need: 'read' | 'write'): boolean {
  if (p.allProjects) return true;
  const role = p.projects.get(project);
  if (!role) return false;
  return need === 'read' || ROLE_RANK[role] >= ROLE_RANK.editor;
}

/** The projects whose data the principal sees, or 'all'. */
export function visibleProjects(p: Principal): 'all' | string[] {
  return p.allProjects ? 'all' : [...p.projects.keys()].sort();
}

/** Whether a point with these tags may be written: ingest tokens limited to projects write only theirs. */
export function canWriteProject(p: Principal, project: string | undefined): boolean {
  if (p.allProjects) return true;
  return project !== undefined && p.projects.has(project);
}
