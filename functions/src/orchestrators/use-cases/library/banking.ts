/**
 * Banking: what every banking use case shares. A booking currency and a
 * regulatory region, the sanctions list screening reads, longer retention
 * (supervisors ask about decisions months later), and the metrics a financial
 * crime function is held to.
 */
import type { TemplateInput } from '../templates/model.js';
import { refOf } from './ref.js';
import { seraphimBase } from './seraphim-base.js';

export const banking: TemplateInput = {
  apiVersion: 'seraphim.dev/v1',
  kind: 'Template',
  metadata: {
    id: 'banking',
    version: '1.0.0',
    name: 'Banking defaults',
    vertical: 'banking',
    tags: ['banking', 'financial-services', 'aml'],
    description:
      'Defaults for banking use cases: booking currency, regulatory region, sanctions-list dataset, 180-day retention, false-positive and review-turnaround metrics.',
    changelog: '1.0.0: first release.',
    abstract: true,
  },
  extends: refOf(seraphimBase),
  variables: {
    retentionDays: { default: 180 },
    currency: {
      type: 'string',
      pattern: '[A-Z]{3}',
      maxLength: 3,
      default: 'EUR',
      description: 'ISO 4217 code of the booking currency: amounts and limits are in it.',
    },
    region: {
      type: 'enum',
      values: ['eu', 'uk', 'us', 'apac'],
      default: 'eu',
      description:
        'Regulatory region, recorded with each outcome: EU (AMLD), UK (MLR 2017), US (BSA) or APAC rules decide reporting and retention.',
    },
    sanctionsList: {
      type: 'dataset',
      default: 'sanctions-consolidated',
      description: 'The consolidated sanctions and PEP list screening uses (EU, UN, OFAC, HMT).',
    },
  },
  spec: {
    workflow: {
      vars: { currency: '${currency}', region: '${region}', sanctionsList: '${sanctionsList}' },
    },
    datasets: [
      {
        dataset: '${sanctionsList}',
        description: 'Consolidated sanctions and PEP lists, refreshed daily by the screening pipeline.',
        required: true,
      },
    ],
    metrics: [
      {
        id: 'falsePositiveRate',
        description: 'Share of held or blocked items an analyst released as legitimate.',
        goal: 'minimize',
        target: 5,
        unit: '%',
      },
      {
        id: 'reviewTurnaround',
        description:
          'Hours an item waits for an analyst: held payments cost customers and invite complaints.',
        goal: 'minimize',
        target: 4,
        unit: 'h',
      },
    ],
  },
};
