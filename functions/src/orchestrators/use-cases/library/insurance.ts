/**
 * Insurance: what every insurance use case shares. A currency and a market,
 * the policy register claims are checked against, and the metrics a claims
 * function is held to (leakage and cycle time).
 */
import type { TemplateInput } from '../templates/model.js';
import { refOf } from './ref.js';
import { seraphimBase } from './seraphim-base.js';

export const insurance: TemplateInput = {
  apiVersion: 'seraphim.dev/v1',
  kind: 'Template',
  metadata: {
    id: 'insurance',
    version: '1.0.0',
    name: 'Insurance defaults',
    vertical: 'insurance',
    tags: ['insurance', 'claims'],
    description:
      'Defaults for insurance use cases: currency, market, the policy-register dataset, claims-leakage and cycle-time metrics.',
    changelog: '1.0.0: first release.',
    abstract: true,
  },
  extends: refOf(seraphimBase),
  variables: {
    currency: {
      type: 'string',
      pattern: '[A-Z]{3}',
      maxLength: 3,
      default: 'EUR',
      description: 'ISO 4217 code of the currency claims are paid in.',
    },
    market: {
      type: 'enum',
      values: ['eu', 'uk', 'us'],
      default: 'eu',
      description: 'Market whose conduct rules apply (EU IDD, UK FCA Consumer Duty, US state regulation).',
    },
    policyRegister: {
      type: 'dataset',
      default: 'policy-register',
      description: 'The policies in force, with cover, limits and deductibles.',
    },
  },
  spec: {
    workflow: { vars: { currency: '${currency}', market: '${market}' } },
    datasets: [
      {
        dataset: '${policyRegister}',
        description: 'Policies in force with cover, limits and deductibles, to check a claim against.',
        required: true,
      },
    ],
    metrics: [
      {
        id: 'claimsLeakage',
        description: 'Paid amount above what the policy owed, as found by claims audit.',
        goal: 'minimize',
        target: 2,
        unit: '%',
      },
      {
        id: 'cycleTime',
        description: 'Days from first notice of loss to settlement.',
        goal: 'minimize',
        unit: 'd',
      },
    ],
  },
};
