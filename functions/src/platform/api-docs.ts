/**
 * The API reference at `/api/docs`: Swagger UI, from the self-contained
 * browser bundle the `swagger-ui-dist` package ships, rendering
 * `/api/openapi.json`. Served by the front door, so both runtimes have it,
 * and never from a CDN: many machines that run Seraphim are offline.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { z } from 'zod';

export const API_DOCS_PATH = '/api/docs';

/** An `ApiResponse` (platform/http.ts, which imports this file). */
export interface ApiDocsResponse {
  status: 200;
  headers: Record<string, string>;
  body: string;
}

const require = createRequire(import.meta.url);

/** The bundle's files, under a path named by the package version: a new version is a new URL. */
const BUNDLE_FILES = new Map([
  ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
  ['swagger-ui.css', 'text/css; charset=utf-8'],
]);

/** Started from a file rather than inline, so the page's policy can forbid inline scripts outright. */
const START_SCRIPT = `window.ui = SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#docs',
  deepLinking: true,
  // The default sends the document to swagger.io's validator; nothing leaves this origin.
  validatorUrl: null,
});
`;

/**
 * Only this origin's scripts, styles, data and images. Swagger UI sets
 * element styles from script (allowed), and draws some icons as data: URLs.
 */
const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PackageJson = z.object({ version: z.string() });

let bundle: Promise<{ dir: string; version: string }> | undefined;
const files = new Map<string, Promise<string>>();

function locateBundle(): Promise<{ dir: string; version: string }> {
  bundle ??= (async () => {
    const manifest = require.resolve('swagger-ui-dist/package.json');
    const { version } = PackageJson.parse(JSON.parse(await readFile(manifest, 'utf8')));
    return { dir: dirname(manifest), version };
  })();
  return bundle;
}

/** A bundle file's text, read once and kept: it never changes while the process runs. */
function bundleFile(dir: string, name: string): Promise<string> {
  let text = files.get(name);
  if (!text) {
    text = readFile(join(dir, name), 'utf8');
    // A failed read is not kept, so the next request tries again.
    text.catch(() => files.delete(name));
    files.set(name, text);
  }
  return text;
}

function page(version: string): string {
  const asset = (name: string) => `${API_DOCS_PATH}/${version}/${name}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Seraphim API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${asset('swagger-ui.css')}">
</head>
<body>
<div id="docs"></div>
<script src="${asset('swagger-ui-bundle.js')}"></script>
<script src="${API_DOCS_PATH}/start.js"></script>
</body>
</html>
`;
}

function respond(
  type: string,
  body: string,
  cache: string,
  extra: Record<string, string> = {},
): ApiDocsResponse {
  return {
    status: 200,
    headers: { 'content-type': type, 'cache-control': cache, 'x-content-type-options': 'nosniff', ...extra },
    body,
  };
}

/** The docs page or one of its files for a GET of `path`; undefined when `path` is none of them. */
export async function apiDocsResponse(path: string): Promise<ApiDocsResponse | undefined> {
  const trimmed = path.replace(/\/$/, '');
  if (trimmed !== API_DOCS_PATH && !trimmed.startsWith(`${API_DOCS_PATH}/`)) return undefined;
  const { dir, version } = await locateBundle();
  if (trimmed === API_DOCS_PATH) {
    return respond('text/html; charset=utf-8', page(version), 'no-cache', {
      'content-security-policy': PAGE_POLICY,
      'referrer-policy': 'no-referrer',
    });
  }
  const rest = trimmed.slice(API_DOCS_PATH.length + 1);
  if (rest === 'start.js') return respond('text/javascript; charset=utf-8', START_SCRIPT, 'no-cache');
  const [pathVersion, name, ...more] = rest.split('/');
  const type = name === undefined ? undefined : BUNDLE_FILES.get(name);
  if (pathVersion !== version || name === undefined || type === undefined || more.length > 0)
    return undefined;
  return respond(type, await bundleFile(dir, name), 'public, max-age=31536000, immutable');
}
