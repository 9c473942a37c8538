/** The embedded runtime's session cookie. */
export const SESSION_COOKIE = 'seraphim_session';

/** Reading the `cookie` header and writing `set-cookie`, with the attributes every Seraphim cookie carries. */

/** The value of cookie `name` in a `cookie` header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * A `set-cookie` value: HttpOnly (no script reads it), SameSite=Strict (no
 * other site sends it), Path=/, and Secure when the request came over https.
 * `maxAgeSeconds: 0` clears it.
 */
export function cookieHeader(
  name: string,
  value: string,
  opts: { maxAgeSeconds: number; secure: boolean },
): string {
  const parts = [
    `${name}=${encodeURIComponent(value)}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`,
  ];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}
