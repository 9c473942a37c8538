import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A module beside `of` (an `import.meta.url`), for a worker thread's entry: `name.ts` when running from
 * source (tests), `name.js` from lib.
 */
export function siblingModule(of: string, name: string): URL {
  return new URL(`./${name}${extname(fileURLToPath(of))}`, of);
}
