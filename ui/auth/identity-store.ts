/**
 * Users and API tokens in one JSON file of the data dir (`auth/identities.json`), written
 * whole through a temp file and rename under a lock file, so `obs users` and `obs tokens` on the
 * command line and a running hub can share it. The hub re-reads it when it changes.
 */
import { type Stats, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type Principal,
  principalForToken,
  principalForUser,
  ROLES,
  type Role,
  SCOPES,
  type Scope,
  type TokenRecord,
  type UserRecord,
} from '../../core/auth.ts';
import type { Clock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import { hashPassword, hashToken, newToken, sameHash, tokenId, verifyPassword } from './secrets.ts';

type Identities = { users: UserRecord[]; tokens: TokenRecord[] };

export type NewUser = { name: string; password: string; admin?: boolean; projects?: Record<string, Role> };
export type NewToken = {
  name: string;
  owner: string | null;
  scopes: Scope[];
  projects: string[] | null;
  expiresAt: number | null;
};

export type TokenCheck =
  | { ok: true; principal: Principal; token: TokenRecord }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' };

export type IdentityStore = {
  /** Whether any user or token exists: then every request must authenticate. */
  configured(): boolean;
  users(): UserRecord[];
  tokens(): TokenRecord[];
  addUser(user: NewUser): Promise<UserRecord>;
  removeUser(name: string): Promise<void>;
  /** The user's principal if the password is right. */
  login(name: string, password: string): Promise<Principal | undefined>;
  principalOf(userName: string): Principal | undefined;
  /** Makes a token; the secret is returned this once and never stored. */
  createToken(token: NewToken): Promise<{ token: TokenRecord; secret: string }>;
  revokeToken(id: string): Promise<TokenRecord>;
  checkToken(secret: string): TokenCheck;
  /** Re-reads the file if another process changed it. */
  refresh(): Promise<void>;
};

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** Longer than any file system's timestamp tick (FAT's 2 s is the coarsest). */
const SAME_TICK_MS = 2_500;
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/;
const PROJECT_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;

function checkName(name: string, what: string): void {
  if (!NAME_RE.test(name))
    throw new HubError('BAD_REQUEST', `Invalid ${what} name "${name}": letters, digits, . _ - (up to 64)`, {
      where: 'name',
    });
}

export function checkProjects(projects: Record<string, string>): Record<string, Role> {
  for (const [p, role] of Object.entries(projects)) {
    if (!PROJECT_RE.test(p))
      throw new HubError('BAD_REQUEST', `Invalid project "${p}": lower-case letters, digits and -`, {
        where: 'projects',
      });
    if (!(ROLES as readonly string[]).includes(role))
      throw new HubError(
        'BAD_REQUEST',
        `Invalid role "${role}" for project ${p}: one of ${ROLES.join(', ')}`,
        { where: `projects.${p}` },
      );
  }
  return projects as Record<string, Role>;
}

export async function openIdentityStore(options: { path: string; clock: Clock }): Promise<IdentityStore> {
  const { path, clock } = options;
  await mkdir(dirname(path), { recursive: true });
  let data: Identities = { users: [], tokens: [] };
  let mtime = -1;
  /**
   * Whether what was read is the last version with its mtime. A file system stamps times in ticks
   * (a few ms on Linux, up to 2 s elsewhere), so a write soon after another can keep its mtime: a
   * token revoked just after it was made would go on working. What was read within
   * `SAME_TICK_MS` of the mtime is read again at the next look.
   */
  let settled = false;

  async function load(): Promise<void> {
    // Every request looks (through `refresh`): a synchronous stat takes microseconds on the main
    // thread, where an asynchronous one's trip through libuv's thread pool cost 4 % of it under
    // `/api/put` load. The file itself is read only when it changed.
    const s = statOrUndefined(path);
    if (!s) {
      data = { users: [], tokens: [] };
      mtime = -1;
      return;
    }
    if (s.mtimeMs === mtime && settled) return;
    // The file system's clock, not the injected one: it is compared with the file's mtime.
    const readAt = Date.now();
    const text = await readFile(path, 'utf8');
    try {
      const parsed = JSON.parse(text) as Identities;
      data = { users: parsed.users ?? [], tokens: parsed.tokens ?? [] };
    } catch (e) {
      throw new HubError('INVALID_CONFIG', `${path} is not valid JSON: ${(e as Error).message}`, {
        cause: e,
        where: path,
      });
    }
    mtime = s.mtimeMs;
    settled = readAt - s.mtimeMs > SAME_TICK_MS;
  }

  /** Read-modify-write under an exclusive lock file. */
  async function change<T>(fn: (d: Identities) => T): Promise<T> {
    const lock = `${path}.lock`;
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    for (let i = 0; !handle; i++) {
      handle = await open(lock, 'wx').catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST' || i > 200)
          throw new HubError('UNAVAILABLE', `Cannot lock ${lock}: ${e.message}`, {
            cause: e,
            canRetry: true,
          });
        return undefined;
      });
      if (!handle) await new Promise((r) => setTimeout(r, 10));
    }
    try {
      mtime = -1;
      await load();
      const result = fn(data);
      const tmp = `${path}.tmp`;
      const out = await open(tmp, 'w', 0o600);
      await out.writeFile(JSON.stringify(data, null, 2));
      await out.sync();
      await out.close();
      await rename(tmp, path);
      mtime = -1;
      await load();
      return result;
    } finally {
      await handle.close();
      await rm(lock, { force: true });
    }
  }

  await load();
  const findUser = (name: string) => data.users.find((u) => u.name === name);

  return {
    configured: () => data.users.length > 0 || data.tokens.some((t) => t.revokedAt === null),
    users: () => data.users.map((u) => ({ ...u })),
    tokens: () => data.tokens.map((t) => ({ ...t })),
    async addUser(user) {
      checkName(user.name, 'user');
      if (user.password.length < 8)
        throw new HubError('BAD_REQUEST', 'A password needs at least 8 characters', { where: 'password' });
      const projects = checkProjects(user.projects ?? {});
      const record: UserRecord = {
        name: user.name,
        passwordHash: await hashPassword(user.password),
        admin: user.admin ?? false,
        projects,
        createdAt: clock.now(),
      };
      return change((d) => {
        if (d.users.some((u) => u.name === user.name))
          throw new HubError('BAD_REQUEST', `User ${user.name} exists already`, { where: 'name' });
        d.users.push(record);
        return record;
      });
    },
    async removeUser(name) {
      await change((d) => {
        if (!d.users.some((u) => u.name === name))
          throw new HubError('NOT_FOUND', `No user ${name}`, { where: 'name' });
        d.users = d.users.filter((u) => u.name !== name);
        for (const t of d.tokens) if (t.owner === name && t.revokedAt === null) t.revokedAt = clock.now();
      });
    },
    async login(name, password) {
      const user = findUser(name);
      if (!user) {
        await hashPassword(password); // same time whether or not the user exists
        return undefined;
      }
      return (await verifyPassword(password, user.passwordHash)) ? principalForUser(user) : undefined;
    },
    principalOf(name) {
      const user = findUser(name);
      return user ? principalForUser(user) : undefined;
    },
    async createToken(t) {
      checkName(t.name, 'token');
      for (const s of t.scopes)
        if (!(SCOPES as readonly string[]).includes(s))
          throw new HubError('BAD_REQUEST', `Invalid scope "${s}": one of ${SCOPES.join(', ')}`, {
            where: 'scopes',
          });
      if (t.scopes.length === 0)
        throw new HubError('BAD_REQUEST', 'A token needs at least one scope', { where: 'scopes' });
      if (t.projects) checkProjects(Object.fromEntries(t.projects.map((p) => [p, 'viewer'])));
      if (t.owner !== null && !findUser(t.owner))
        throw new HubError('NOT_FOUND', `No user ${t.owner}`, { where: 'owner' });
      const { id, secret } = newToken();
      const record: TokenRecord = {
        ...t,
        id,
        hash: hashToken(secret),
        createdAt: clock.now(),
        revokedAt: null,
      };
      await change((d) => d.tokens.push(record));
      return { token: record, secret };
    },
    async revokeToken(id) {
      return change((d) => {
        const t = d.tokens.find((x) => x.id === id);
        if (!t) throw new HubError('NOT_FOUND', `No token ${id}`, { where: 'id' });
        t.revokedAt ??= clock.now();
        return { ...t };
      });
    },
    checkToken(secret) {
      const id = tokenId(secret);
      const t = id ? data.tokens.find((x) => x.id === id) : undefined;
      if (!t || !sameHash(t.hash, hashToken(secret))) return { ok: false, reason: 'unknown' };
      if (t.revokedAt !== null) return { ok: false, reason: 'revoked' };
      if (t.expiresAt !== null && t.expiresAt <= clock.now()) return { ok: false, reason: 'expired' };
      const owner = t.owner === null ? undefined : findUser(t.owner);
      if (t.owner !== null && !owner) return { ok: false, reason: 'revoked' };
      return { ok: true, principal: principalForToken(t, owner), token: t };
    },
    refresh: load,
  };
}
