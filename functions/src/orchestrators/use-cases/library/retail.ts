/**
 * Retail: what every retail use case shares. A currency, the daily sales
 * history, background priority (watches run over many SKUs and stores, and
 * nobody waits on one), and the metrics merchandising is held to.
 */
import type { TemplateInput } from '../templates/model.js';
import { refOf } from './ref.js';
import { seraphimBase } from './seraphim-base.js';

export const retail: TemplateInput = {
  apiVersion: 'seraphim.dev/v1',
  kind: 'Template',
  metadata: {
    id: 'retail',
    version: '1.0.0',
    name: 'Retail defaults',
    vertical: 'retail',
    tags: ['retail', 'merchandising'],
    description:
      'Defaults for retail use cases: currency, the daily sales dataset, low pool priority, stock-out and forecast-accuracy metrics.',
    changelog: '1.0.0: first release.',
    abstract: true,
  },
  extends: refOf(seraphimBase),
  variables: {
    priority: { default: 'low' },
    currency: {
      type: 'string',
      pattern: '[A-Z]{3}',
      maxLength: 3,
      default: 'EUR',
      description: 'ISO 4217 code of the currency prices and stock values are in.',
    },
    salesHistory: {
      type: 'dataset',
      default: 'sales-daily',
      description: 'Daily unit sales by SKU and store.',
    },
  },
  spec: {
    workflow: { vars: { currency: '${currency}' } },
    datasets: [
      {
        dataset: '${salesHistory}',
        description: 'Daily unit sales by SKU and store, published nightly by the POS pipeline.',
        required: true,
      },
    ],
    metrics: [
      {
        id: 'stockoutRate',
        description: 'Share of SKU-store-days with no stock on hand while there was demand.',
        goal: 'minimize',
        target: 3,
        unit: '%',
      },
      {
        id: 'forecastAccuracy',
        description: '100 minus the mean absolute percentage error of the daily forecast.',
        goal: 'maximize',
        unit: '%',
      },
    ],
  },
};
