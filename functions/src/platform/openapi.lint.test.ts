/**
 * Redocly's lint of the document the registry builds, under the repository's
 * redocly.yaml: Mission Control and the CLI build their client on it, so any
 * error or warning fails `npm test`, with Redocly's own words.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { orchestrators } from '../orchestrators/registry.js';
import { buildOpenApi } from './openapi.js';

const REDOCLY_CONFIG = fileURLToPath(new URL('../../../redocly.yaml', import.meta.url));

const LintReport = z.object({
  totals: z.object({ errors: z.number(), warnings: z.number() }),
  problems: z.array(
    z.object({
      ruleId: z.string(),
      severity: z.string(),
      message: z.string(),
      location: z.array(z.object({ pointer: z.string().optional() })).optional(),
    }),
  ),
});

function redoclyCli(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@redocly/cli/package.json')), 'bin/cli.js');
  } catch {
    throw new Error('@redocly/cli is not installed: run `npm install` at the repository root');
  }
}

describe('the OpenAPI document under Redocly’s lint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seraphim-openapi-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has no errors and no warnings', () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(buildOpenApi(orchestrators, { version: '0.0.0-test' }), null, 2));
    const run = spawnSync(
      process.execPath,
      [redoclyCli(), 'lint', '--config', REDOCLY_CONFIG, '--format', 'json', file],
      {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    );
    let report: z.infer<typeof LintReport>;
    try {
      report = LintReport.parse(JSON.parse(run.stdout));
    } catch {
      throw new Error(`redocly lint gave no report (exit ${run.status}):\n${run.stderr}${run.stdout}`);
    }
    expect(
      report.problems.map(
        (p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer ?? '?'}`,
      ),
    ).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0 });
    expect(run.status).toBe(0);
  });
});
