/**
 * The pure rules of the sign-in page: where to go afterwards, and what a one-time link in the
 * address carries.
 */

/** The shortest password the runtime accepts. */
export const MIN_PASSWORD_LENGTH = 12;

/**
 * Where to go after signing in: `next` when it is a path of this site, else home. A full URL or
 * `//host` is refused, so a crafted sign-in link cannot send someone elsewhere.
 */
export function safeNext(next: string | null, home = '/'): string {
  if (next === null || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return home;
  return next;
}

export interface LinkToken {
  kind: 'owner' | 'invite';
  token: string;
}

/** The one-time token of an owner link (`#owner=…`) or an invitation (`#invite=…`), if any. */
export function linkTokenFrom(hash: string): LinkToken | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  for (const kind of ['owner', 'invite'] as const) {
    const token = params.get(kind);
    if (token) return { kind, token };
  }
  return undefined;
}

/** Why a chosen password cannot be sent yet, or undefined when it can. */
export function passwordProblem(password: string, confirmation: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (password !== confirmation) return 'The two passwords differ.';
  return undefined;
}
