/** The reference docs over real HTTP on the embedded runtime: the page, its bundle, and nothing else. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import system from '../orchestrators/system/index.js';
import { startTestRuntime, type TestRuntime } from '../test-support/embedded.js';

describe('reference docs at /api/docs', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await startTestRuntime([system]);
  });
  afterAll(() => t.dispose());

  const get = (path: string) => fetch(`${t.url}${path}`);

  /** The page's script and stylesheet addresses, in order. */
  async function pageAssets(): Promise<string[]> {
    const html = await (await get('/api/docs')).text();
    return [...html.matchAll(/<(?:script src|link rel="stylesheet" href)="([^"]+)"/g)].map(
      (m) => m[1] as string,
    );
  }

  it('answers an HTML page that loads Swagger UI from /api/docs and the document from /api/openapi.json', async () => {
    const res = await get('/api/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const policy = res.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("default-src 'none'");
    expect(policy).not.toContain('unsafe');
    const html = await res.text();
    expect(html).toMatch(/<script src="\/api\/docs\/[0-9.]+\/swagger-ui-bundle\.js"><\/script>/);
    expect(html).not.toMatch(/<script>/); // no inline script: the policy would refuse it
    const start = await get('/api/docs/start.js');
    expect(start.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await start.text()).toContain("url: '/api/openapi.json'");
    // One address per page: the trailing slash is 404, like every route's (platform/http.ts).
    expect((await get('/api/docs/')).status).toBe(404);
  });

  it('serves the bundle read from swagger-ui-dist, cached for good under its version', async () => {
    const [css, bundle] = await pageAssets();
    expect(bundle).toMatch(/swagger-ui-bundle\.js$/);
    const js = await get(bundle as string);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const text = await js.text();
    expect(text.length).toBeGreaterThan(500_000);
    expect(text).toContain('SwaggerUIBundle');
    const style = await get(css as string);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await style.text()).length).toBeGreaterThan(10_000);
    // Read once, then from memory: the same bytes again.
    expect(await (await get(bundle as string)).text()).toBe(text);
  });

  it('answers 404 for any other file, another version, and a path that escapes', async () => {
    const [, bundle] = await pageAssets();
    for (const path of [
      '/api/docs/0.0.0/swagger-ui-bundle.js',
      (bundle as string).replace('swagger-ui-bundle.js', 'package.json'),
      (bundle as string).replace('swagger-ui-bundle.js', 'constructor'),
      (bundle as string).replace('swagger-ui-bundle.js', '..%2Fpackage.json'),
      '/api/docs/start.js/more',
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toContain('application/problem+json');
    }
  });
});
