/**
 * The places that must list every orchestrator agree with the registry:
 * Hosting's rewrites and the Cloud Functions entry. (The emulator test checks
 * that the functions really load.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { orchestrators } from './registry.js';

const root = new URL('../../../', import.meta.url);

const FirebaseJson = z.object({
  hosting: z.object({
    rewrites: z.array(
      z.object({
        source: z.string(),
        function: z.object({ functionId: z.string(), region: z.string() }).optional(),
        destination: z.string().optional(),
      }),
    ),
  }),
  functions: z.array(z.object({ source: z.string(), runtime: z.string() })),
});

/** Hosting's glob: `**` matches any run of path segments (none included), `*` one segment's characters. */
function globMatches(glob: string, path: string): boolean {
  const pattern = glob
    .split('/')
    .map((part) =>
      part === '**' ? '.*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'),
    )
    .join('/')
    .replace(/\/\.\*/g, '(?:/.*)?');
  return new RegExp(`^${pattern}$`).test(path);
}

describe('registry wiring', () => {
  const firebase = FirebaseJson.parse(JSON.parse(readFileSync(new URL('firebase.json', root), 'utf8')));

  it('Hosting rewrites /api/<name>/** to <name>-api for every orchestrator, before the SPA fallback', () => {
    const rewrites = firebase.hosting.rewrites;
    for (const o of orchestrators) {
      const index = rewrites.findIndex((r) => r.source === `/api/${o.name}/**`);
      expect(index, `missing rewrite for /api/${o.name}/**`).toBeGreaterThanOrEqual(0);
      expect(rewrites[index]?.function?.functionId).toBe(`${o.name}-api`);
      expect(index).toBeLessThan(rewrites.findIndex((r) => r.source === '**'));
    }
    // The document and its reference docs come from the front door of the `system` group.
    for (const source of ['/api/openapi.json', '/api/docs', '/api/docs/**']) {
      const index = rewrites.findIndex((r) => r.source === source);
      expect(rewrites[index]?.function?.functionId, source).toBe('system-api');
      expect(index, source).toBeLessThan(rewrites.findIndex((r) => r.source === '**'));
    }
  });

  it('defect (issue 8, item 8): Hosting answered an unknown API path with the SPA; every /api path reaches a function', () => {
    const rewrites = firebase.hosting.rewrites;
    // Hosting applies the first rewrite whose glob matches: model that for a few paths.
    const target = (path: string) => rewrites.find((r) => globMatches(r.source, path));
    for (const path of ['/api/nope', '/api/nope/deeper', '/api', '/api/executionsx/1']) {
      expect(target(path)?.function?.functionId, path).toBe('system-api');
    }
    expect(target('/api/executions/workspaces/demo/executions')?.function?.functionId).toBe('executions-api');
    expect(target('/pool')?.destination).toBe('/index.html');
  });

  it('deploys the functions on nodejs22', () => {
    expect(firebase.functions[0]).toMatchObject({ source: 'functions', runtime: 'nodejs22' });
  });

  it('exports one Cloud Functions group per orchestrator from index.ts (the loaded module, not its text)', async () => {
    // A target no group serves: each group stays empty and loads nothing, so the entry imports here as
    // on a Cloud Functions instance of another group. (The emulator test loads every group for real.)
    const before = process.env.FUNCTION_TARGET;
    process.env.FUNCTION_TARGET = 'none.api';
    try {
      const entry: Record<string, unknown> = await import('../index.js');
      expect(Object.keys(entry).sort()).toEqual(orchestrators.map((o) => o.name).sort());
      for (const o of orchestrators) expect(entry[o.name], o.name).toEqual({});
    } finally {
      if (before === undefined) delete process.env.FUNCTION_TARGET;
      else process.env.FUNCTION_TARGET = before;
    }
  });
});
