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

  it('deploys the functions on nodejs22', () => {
    expect(firebase.functions[0]).toMatchObject({ source: 'functions', runtime: 'nodejs22' });
  });

  it('exports one Cloud Functions group per orchestrator from index.ts', () => {
    const index = readFileSync(new URL('functions/src/index.ts', root), 'utf8');
    for (const o of orchestrators) {
      expect(index).toMatch(new RegExp(`export const ${o.name} = cloudGroup\\('${o.name}'`));
    }
  });
});
