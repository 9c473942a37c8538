/**
 * `seraphim users …`: the people who can sign in to a runtime, through the
 * API (platform admins only; on this machine the CLI is the owner).
 */
import { RoleSchema } from '../platform/identity.js';
import { CliError, cliApi, EXIT } from './client.js';
import { table } from './format.js';

export interface UsersOptions {
  url: string;
  json: boolean;
  workspace?: string | undefined;
  role?: string | undefined;
}

export const USERS_USAGE = [
  'seraphim users add EMAIL [--workspace W] [--role viewer|operator|admin|owner]',
  'seraphim users list',
  'seraphim users remove EMAIL',
  '  common: [--url URL] [--json]',
].join('\n');

export async function users(
  args: string[],
  opts: UsersOptions,
  out: (line: string) => void,
): Promise<number> {
  const [sub, email, ...extra] = args;
  if (extra.length > 0) throw new CliError(`Unexpected arguments: ${extra.join(' ')}`, EXIT.usage);
  const api = cliApi(opts.url);
  const list = () => api.system.users();
  switch (sub) {
    case 'list': {
      const { users } = await list();
      if (opts.json) out(JSON.stringify(users, null, 2));
      else
        for (const line of table([
          ['UID', 'EMAIL', 'NAME', 'PLATFORM ADMIN'],
          ...users.map((u) => [u.uid, u.email ?? '', u.displayName ?? '', u.platformAdmin ? 'yes' : '']),
        ]))
          out(line);
      return EXIT.ok;
    }
    case 'add': {
      if (!email) throw new CliError('Name the person: seraphim users add EMAIL', EXIT.usage);
      const role = RoleSchema.safeParse(opts.role ?? 'viewer');
      if (!role.success)
        throw new CliError(`--role must be one of ${RoleSchema.options.join(', ')}`, EXIT.usage);
      if (opts.role !== undefined && opts.workspace === undefined)
        throw new CliError('--role needs --workspace', EXIT.usage);
      const added = await api.system.addUser({ body: { email } });
      let invitation = added.invitation;
      if (opts.workspace !== undefined) {
        const member = await api.workspaces.addMember({
          params: { workspace: opts.workspace },
          body: { email, role: role.data },
        });
        invitation = member.invitation ?? invitation;
      }
      if (opts.json) out(JSON.stringify({ user: added.user, invitation }, null, 2));
      else {
        out(
          `Added ${added.user.email ?? email} (${added.user.uid})${opts.workspace ? ` to ${opts.workspace} as ${role.data}` : ''}.`,
        );
        if (invitation)
          out(
            `Pass on this one-time sign-in link (until ${new Date(invitation.expiresAt).toISOString()}):\n  ${invitation.url}`,
          );
      }
      return EXIT.ok;
    }
    case 'remove': {
      if (!email) throw new CliError('Name the person: seraphim users remove EMAIL', EXIT.usage);
      const wanted = email.trim().toLowerCase();
      const person = (await list()).users.find((u) => u.email?.toLowerCase() === wanted);
      if (!person) throw new CliError(`No user with email ${email}`, EXIT.api);
      await api.system.removeUser({ params: { uid: person.uid } });
      out(opts.json ? JSON.stringify({ removed: true, uid: person.uid }) : `Removed ${email}.`);
      return EXIT.ok;
    }
    default:
      throw new CliError(`Unknown users command "${sub ?? ''}"\n${USERS_USAGE}`, EXIT.usage);
  }
}
