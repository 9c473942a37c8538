/**
 * Which workspace Mission Control shows: the `ws` query parameter of every page, so a link or a
 * reload shows the same one. These are the pure rules; `workspace.svelte.ts` holds the state.
 */

/** The query parameter that names the current workspace. */
export const WORKSPACE_PARAM = 'ws';
/** Where the last workspace chosen is remembered (localStorage), for a visit with no `ws`. */
export const LAST_WORKSPACE_KEY = 'seraphim.workspace';

/**
 * `href` (a path, with or without a query and a hash) naming `workspace` in its query, whatever
 * workspace it named before. Every link inside Mission Control goes through this.
 * @example withWorkspace('/executions?status=failed', 'acme') // '/executions?status=failed&ws=acme'
 */
export function withWorkspace(href: string, workspace: string): string {
  const hashAt = href.indexOf('#');
  const hash = hashAt === -1 ? '' : href.slice(hashAt);
  const beforeHash = hashAt === -1 ? href : href.slice(0, hashAt);
  const queryAt = beforeHash.indexOf('?');
  const path = queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : beforeHash.slice(queryAt + 1));
  query.set(WORKSPACE_PARAM, workspace);
  return `${path}?${query}${hash}`;
}

/**
 * The workspace to open when the address names none: the one chosen last, if the caller is still
 * a member of it, else the first they have; undefined when they have none.
 */
export function chooseWorkspace(
  available: readonly { readonly id: string }[],
  remembered: string | null,
): string | undefined {
  if (remembered !== null && available.some((workspace) => workspace.id === remembered)) return remembered;
  return available[0]?.id;
}

/**
 * A workspace id derived from a name, as a suggestion the form shows: lower case, letters, digits
 * and single dashes.
 * @example workspaceIdFrom('Acme Claims (EU)') // 'acme-claims-eu'
 */
export function workspaceIdFrom(name: string): string {
  return name
    .normalize('NFKD')
    // NFKD splits é into e and a combining accent: drop the accent, keep the letter.
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}
