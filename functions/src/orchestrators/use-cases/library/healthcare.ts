/**
 * Healthcare: what every healthcare use case shares. A region, PHI redaction
 * in what a use case records, the payer's coverage policies, regulatory
 * turnaround metrics, and two removals: results derived from protected health
 * information are never cached (the base's cache default and its variable are
 * taken out), and contexts are kept 30 days, not longer.
 */
import type { TemplateInput } from '../templates/model.js';
import { refOf } from './ref.js';
import { seraphimBase } from './seraphim-base.js';

export const healthcare: TemplateInput = {
  apiVersion: 'seraphim.dev/v1',
  kind: 'Template',
  metadata: {
    id: 'healthcare',
    version: '1.0.0',
    name: 'Healthcare defaults',
    vertical: 'healthcare',
    tags: ['healthcare', 'hipaa', 'phi'],
    description:
      'Defaults for healthcare use cases: region, PHI redaction, the coverage-policy dataset, turnaround and overturn metrics, no step caching and 30-day retention.',
    changelog: '1.0.0: first release.',
    abstract: true,
  },
  extends: refOf(seraphimBase),
  variables: {
    retentionDays: { default: 30 },
    // Nothing derived from PHI is cached: the base's cache default goes, and its variable with it.
    cacheTtlMinutes: null,
    region: {
      type: 'enum',
      values: ['us', 'eu', 'uk'],
      default: 'us',
      description:
        'Where the data is governed: US (HIPAA, CMS rules), EU (GDPR Art. 9) or UK (UK GDPR, NHS DSPT).',
    },
    redactPhi: {
      type: 'boolean',
      default: true,
      description:
        'Keep member identifiers out of recorded outcomes (only the last four characters): the minimum necessary standard.',
    },
    coveragePolicies: {
      type: 'dataset',
      default: 'coverage-policies',
      description: "The payer's medical policies: coverage criteria by service code.",
    },
  },
  spec: {
    cache: null,
    workflow: { vars: { region: '${region}', redactPhi: '${redactPhi}' } },
    datasets: [
      {
        dataset: '${coveragePolicies}',
        description: 'Medical policies and coverage criteria by service code, as published by the payer.',
        required: true,
      },
    ],
    metrics: [
      {
        id: 'decisionTurnaround',
        description:
          'Hours from request to determination (CMS-0057-F: at most 72 h for expedited, 7 days for standard requests).',
        goal: 'minimize',
        target: 72,
        unit: 'h',
      },
      {
        id: 'overturnRate',
        description: 'Share of adverse determinations overturned on appeal: a measure of decision quality.',
        goal: 'minimize',
        unit: '%',
      },
    ],
  },
};
