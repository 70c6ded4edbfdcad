/** `obs users …` and `obs tokens …`: manage identities in the data dir, with or without a running hub. */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { ROLES, type Role, type Scope } from '../core/auth.ts';
import { systemClock } from '../core/clock.ts';
import { type ConfigFlags, loadConfig } from '../core/config.ts';
import { parseDuration } from '../core/duration.ts';
import { HubError } from '../core/errors.ts';
import { openAuditLog } from '../ui/auth/audit-log.ts';
import { openIdentityStore } from '../ui/auth/identity-store.ts';
import { auditPath, identitiesPath } from './hub.ts';

type Out = (line: string) => void;

async function open(flags: ConfigFlags) {
  const config = loadConfig({ flags: { dataDir: flags.dataDir, config: flags.config } });
  const identities = await openIdentityStore({ path: identitiesPath(config.dataDir), clock: systemClock });
  const audit = await openAuditLog({ path: auditPath(config.dataDir), clock: systemClock });
  return { identities, audit, actor: `cli:${userInfo().username}` };
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text.replace(/\r?\n$/, '');
}

export function parseProjectRoles(specs: string[]): Record<string, Role> {
  const out: Record<string, Role> = {};
  for (const spec of specs) {
    const [project, role = 'viewer'] = spec.split(':');
    if (!project || !(ROLES as readonly string[]).includes(role))
      throw new HubError(
        'BAD_REQUEST',
        `Invalid --project "${spec}": expected PROJECT[:${ROLES.join('|')}]`,
        { where: '--project' },
      );
    out[project] = role as Role;
  }
  return out;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const dataOptions = (c: Command) =>
  c
    .option('--data-dir <dir>', 'data dir of the hub (env OBS_DATA_DIR)')
    .option('--config <file>', 'config file (env OBS_CONFIG)');

export function registerIdentityCommands(program: Command, out: Out): void {
  const users = program.command('users').description('local users: add, list, remove');
  dataOptions(
    users
      .command('add <name>')
      .description('add a user; the password is read from standard input')
      .option('--admin', 'sees and changes everything')
      .option(
        '--project <project:role>',
        `a project and a role (${ROLES.join(', ')}); repeatable`,
        collect,
        [],
      ),
  ).action(async (name: string, o: ConfigFlags & { admin?: boolean; project: string[] }) => {
    const { identities, audit, actor } = await open(o);
    if (process.stdin.isTTY) process.stderr.write(`password for ${name} (then Enter, Ctrl-D): `);
    const password = await readStdin();
    const projects = parseProjectRoles(o.project);
    const user = await identities.addUser({ name, password, admin: o.admin === true, projects });
    await audit.record({ actor, action: 'user.add', target: name, details: { admin: user.admin, projects } });
    out(`added user ${name}${user.admin ? ' (admin)' : ''}`);
  });
  dataOptions(users.command('list').description('list users')).action(async (o: ConfigFlags) => {
    const { identities } = await open(o);
    for (const u of identities.users())
      out(
        `${u.name}\t${u.admin ? 'admin' : '-'}\t${
          Object.entries(u.projects)
            .map(([p, r]) => `${p}:${r}`)
            .join(',') || '-'
        }`,
      );
  });
  dataOptions(users.command('remove <name>').description('remove a user and revoke their tokens')).action(
    async (name: string, o: ConfigFlags) => {
      const { identities, audit, actor } = await open(o);
      await identities.removeUser(name);
      await audit.record({ actor, action: 'user.remove', target: name });
      out(`removed user ${name}`);
    },
  );

  const tokens = program.command('tokens').description('API tokens: create, list, revoke');
  dataOptions(
    tokens
      .command('create <name>')
      .description('create a token; it is printed once and stored only as a hash')
      .option('--scope <scope>', 'ingest, read, write or admin; repeatable', collect, [])
      .option('--project <project>', 'limit the token to a project; repeatable', collect, [])
      .option('--owner <user>', 'the user whose rights the token narrows')
      .option('--expires <duration>', 'e.g. 30d, 12h'),
  ).action(
    async (
      name: string,
      o: ConfigFlags & { scope: string[]; project: string[]; owner?: string; expires?: string },
    ) => {
      const { identities, audit, actor } = await open(o);
      const expiresAt = o.expires ? Date.now() + parseDuration(o.expires, '--expires') : null;
      const projects = o.project.length > 0 ? o.project : null;
      const { token, secret } = await identities.createToken({
        name,
        owner: o.owner ?? null,
        scopes: (o.scope.length > 0 ? o.scope : ['ingest']) as Scope[],
        projects,
        expiresAt,
      });
      await audit.record({
        actor,
        action: 'token.create',
        target: token.id,
        details: { name, scopes: token.scopes, projects },
      });
      out(secret);
      process.stderr.write(
        `token ${token.id} (${token.scopes.join(',')}) created: keep it now, it is not shown again\n`,
      );
    },
  );
  dataOptions(tokens.command('list').description('list tokens (never their secrets)')).action(
    async (o: ConfigFlags) => {
      const { identities } = await open(o);
      for (const t of identities.tokens()) {
        const state = t.revokedAt
          ? 'revoked'
          : t.expiresAt && t.expiresAt <= Date.now()
            ? 'expired'
            : 'active';
        const expires = t.expiresAt ? new Date(t.expiresAt).toISOString() : 'never';
        out(
          `${t.id}\t${t.name}\t${t.scopes.join(',')}\t${t.projects?.join(',') ?? '*'}\t${t.owner ?? '-'}\t${state}\texpires ${expires}`,
        );
      }
    },
  );
  dataOptions(tokens.command('revoke <id>').description('revoke a token at once')).action(
    async (id: string, o: ConfigFlags) => {
      const { identities, audit, actor } = await open(o);
      await identities.revokeToken(id);
      await audit.record({ actor, action: 'token.revoke', target: id });
      out(`revoked token ${id}`);
    },
  );
}
