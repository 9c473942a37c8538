/**
 * The root of every built-in template: what the platform expects of any use
 * case, whatever its industry. Retention, the pool priority class and a
 * default cache lifetime are variables; the two metrics every use case is
 * judged by are here, so experiments compare like with like.
 *
 * The convention it sets: a use case's last step writes `outcome`, with
 * `automated` true when no person took part. `automationRate` reads it.
 */
import type { TemplateInput } from '../templates/model.js';

export const seraphimBase: TemplateInput = {
  apiVersion: 'seraphim.dev/v1',
  kind: 'Template',
  metadata: {
    id: 'seraphim-base',
    version: '1.0.0',
    name: 'Seraphim platform defaults',
    vertical: 'platform',
    tags: ['seraphim'],
    description:
      'Platform defaults every built-in template inherits: context retention, pool priority, the cache lifetime of steps that cache, and the end-to-end latency and automation-rate metrics.',
    changelog: '1.0.0: first release.',
    abstract: true,
  },
  variables: {
    retentionDays: {
      type: 'number',
      integer: true,
      minimum: 1,
      maximum: 365,
      default: 7,
      description:
        "Days an execution's context and checkpoints are kept after it ends: long enough to debug, fork and audit, no longer than the data may be held.",
    },
    priority: {
      type: 'enum',
      values: ['high', 'normal', 'low', 'batch'],
      default: 'normal',
      description:
        'Pool priority class of the steps: `high` for work a person or a payment waits on, `low` and `batch` for background watches.',
    },
    cacheTtlMinutes: {
      type: 'number',
      integer: true,
      minimum: 1,
      maximum: 43_200,
      default: 60,
      description:
        'How long a cached step result is reused, for steps that cache (a deterministic rule table over the same inputs, say).',
    },
  },
  spec: {
    contextTtlSeconds: '${retentionDays * 86400}',
    pool: { priority: '${priority}' },
    cache: { ttlSeconds: '${cacheTtlMinutes * 60}' },
    metrics: [
      {
        id: 'endToEndLatency',
        description: 'Seconds from the start of an execution to its settled outcome, human waits included.',
        goal: 'minimize',
        unit: 's',
      },
      {
        id: 'automationRate',
        description: 'Share of executions settled without a person (straight-through processing).',
        goal: 'maximize',
        source: 'outcome.automated',
        target: 80,
        unit: '%',
      },
    ],
  },
};
