/**
 * Customer support: what every support use case shares. The desk's language,
 * its first-response SLA (also the metric's target), the knowledge base, a
 * short retention (tickets hold personal data: keep what is needed), and the
 * metrics a support organisation is held to.
 */
import type { TemplateInput } from '../templates/model.js';
import { refOf } from './ref.js';
import { seraphimBase } from './seraphim-base.js';

export const customerSupport: TemplateInput = {
  apiVersion: 'seraphim.dev/v1',
  kind: 'Template',
  metadata: {
    id: 'customer-support',
    version: '1.0.0',
    name: 'Customer support defaults',
    vertical: 'customer-support',
    tags: ['customer-support', 'helpdesk'],
    description:
      'Defaults for customer-support use cases: desk language, first-response SLA, the knowledge-base dataset, 30-day retention, response-time, misroute and satisfaction metrics.',
    changelog: '1.0.0: first release.',
    abstract: true,
  },
  extends: refOf(seraphimBase),
  variables: {
    retentionDays: { default: 30 },
    language: {
      type: 'enum',
      values: ['en', 'de', 'fr', 'es', 'it', 'nl'],
      default: 'en',
      description: 'The language the desk answers in (ISO 639-1); tickets in another one need a person.',
    },
    firstResponseSlaHours: {
      type: 'number',
      minimum: 0.25,
      maximum: 168,
      default: 8,
      description:
        'Hours within which a normal-priority ticket gets its first answer; also the metric target.',
    },
    knowledgeBase: {
      type: 'dataset',
      default: 'help-centre-articles',
      description: 'Help-centre articles, for suggested answers and deflection.',
    },
  },
  spec: {
    workflow: { vars: { language: '${language}', firstResponseSlaHours: '${firstResponseSlaHours}' } },
    datasets: [
      {
        dataset: '${knowledgeBase}',
        description: 'Help-centre articles, for suggested answers.',
        required: false,
      },
    ],
    metrics: [
      {
        id: 'firstResponseTime',
        description: 'Hours from a ticket arriving to its first answer.',
        goal: 'minimize',
        target: '${firstResponseSlaHours}',
        unit: 'h',
      },
      {
        id: 'misrouteRate',
        description: 'Share of tickets moved to another queue after assignment.',
        goal: 'minimize',
        target: 5,
        unit: '%',
      },
      {
        id: 'csat',
        description: 'Customer satisfaction after resolution (share of good ratings).',
        goal: 'maximize',
        target: 90,
        unit: '%',
      },
    ],
  },
};
