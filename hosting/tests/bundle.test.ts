/// <reference types="node" />
/**
 * The Firebase JS SDK is loaded only when needed (sign-in on a Firebase runtime): the JavaScript
 * the first page runs, the entry and the home route with everything they import statically, must
 * not contain it. And the typed API client Mission Control shares with the CLI (`#api`) brings
 * its contracts and zod, never server code. Reads the built `hosting/build`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const BUILD = fileURLToPath(new URL('../build', import.meta.url));
/** Strings only the Firebase SDK carries: its Auth backend's host and its app package's name. */
const FIREBASE_MARKERS = ['identitytoolkit.googleapis.com', '@firebase/app'];

function built(path: string): string {
  const file = join(BUILD, path);
  if (!existsSync(file)) throw new Error(`${file} is missing: build first with \`npm run build -w hosting\``);
  return readFileSync(file, 'utf8');
}

/** The files a module imports statically (`import … from`, `import "…"`, `export … from`), not `import()`. */
function staticImports(file: string): string[] {
  const code = readFileSync(file, 'utf8');
  const found = [...code.matchAll(/\b(?:from|import)\s*["']([^"']+\.js)["']/g)].map(
    (match) => match[1] ?? '',
  );
  return found.map((specifier) => resolve(dirname(file), specifier));
}

/** `roots` and everything they import statically, transitively. */
function staticGraph(roots: string[]): Set<string> {
  const seen = new Set<string>();
  const pending = [...roots];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    pending.push(...staticImports(file));
  }
  return seen;
}

function containsFirebase(file: string): boolean {
  const code = readFileSync(file, 'utf8');
  return FIREBASE_MARKERS.some((marker) => code.includes(marker));
}

describe('the first page bundle', () => {
  test('holds no Firebase SDK; the SDK is in a chunk of its own, loaded later', () => {
    const index = built('index.html');
    // The entry modules index.html imports (start, app), and the nodes app.js maps to the root
    // layout (always node 0) and to the home route "/".
    const entries = [...index.matchAll(/import\("(\/_app\/immutable\/entry\/[^"]+\.js)"\)/g)].map((m) =>
      join(BUILD, m[1] ?? ''),
    );
    expect(entries.map((file) => relative(BUILD, file).replace(/\.[\w-]+\.js$/, ''))).toEqual([
      '_app/immutable/entry/start',
      '_app/immutable/entry/app',
    ]);
    const app = readFileSync(entries[1] ?? '', 'utf8');
    const nodeFiles = [...app.matchAll(/import\(`\.\.\/nodes\/(\d+)\.[\w-]+\.js`\)/g)].map((m) => m[0]);
    const homeNode = /"\/":\[(\d+)\]/.exec(app)?.[1];
    expect(homeNode).toBeDefined();
    const nodePath = (n: string) => {
      const match = nodeFiles.find((expr) => expr.includes(`/nodes/${n}.`));
      if (!match) throw new Error(`app.js imports no node ${n}`);
      return join(BUILD, '_app/immutable/entry', /`([^`]+)`/.exec(match)?.[1] ?? '');
    };

    const firstPage = staticGraph([...entries, nodePath('0'), nodePath(homeNode ?? '')]);
    expect(firstPage.size).toBeGreaterThan(4);
    expect([...firstPage].filter(containsFirebase).map((file) => relative(BUILD, file))).toEqual([]);

    // The markers do find the SDK: it is built, in a chunk the first page does not load.
    const chunks = join(BUILD, '_app/immutable/chunks');
    const withFirebase = readdirSync(chunks)
      .map((name) => join(chunks, name))
      .filter(containsFirebase);
    expect(withFirebase.length).toBeGreaterThan(0);
  });
});

/** Every JavaScript file of the build. */
function builtScripts(dir = BUILD): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return builtScripts(path);
    return entry.name.endsWith('.js') ? [path] : [];
  });
}

/** What only server code would bring: Node builtins, the Admin SDK, Google Cloud clients, OpenTelemetry's Node context. */
const SERVER_MARKERS = [
  /["'`]node:[a-z_/]+["'`]/,
  /firebase-admin/,
  /@google-cloud\//,
  /AsyncLocalStorage/,
  /node:sqlite/,
];

describe('the shared API client in the bundle', () => {
  test('is there, with the route contracts, and brings no server code', () => {
    built('index.html');
    const scripts = builtScripts();
    const code = new Map(scripts.map((file) => [relative(BUILD, file), readFileSync(file, 'utf8')]));
    // The client and the contracts are bundled: its error code and a route's path are in the build.
    const withClient = [...code].filter(
      ([, text]) => text.includes('unexpected-response') && text.includes('/members/:uid'),
    );
    expect(withClient.length).toBeGreaterThan(0);
    const offending = [...code].flatMap(([file, text]) =>
      SERVER_MARKERS.filter((marker) => marker.test(text)).map((marker) => `${file}: ${marker}`),
    );
    expect(offending).toEqual([]);
  });

  test('the markers do find server code (the check itself works)', () => {
    const server = readFileSync(
      fileURLToPath(new URL('../../functions/src/platform/tracing.ts', import.meta.url)),
      'utf8',
    );
    expect(SERVER_MARKERS.some((marker) => marker.test(server))).toBe(true);
  });
});
