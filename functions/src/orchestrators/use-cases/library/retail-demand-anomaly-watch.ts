/**
 * Demand anomaly watch: one SKU in one store on one day, against its
 * forecast. Sales far off forecast, a stock-out coming, or stock data that
 * cannot be right are scored; an explained spike (a promotion) is discounted.
 * Small corrections become a replenishment suggestion (or order) at once;
 * big or suspicious ones go to a planner.
 *
 * Inheritance at work: end-to-end latency means nothing for a nightly watch,
 * so the base's `endToEndLatency` metric is deleted (`$patch: delete`).
 */
import type { TemplateInput } from '../templates/model.js';
import { refOf } from './ref.js';
import { retail } from './retail.js';

export const retailDemandAnomalyWatch: TemplateInput = {
  apiVersion: 'seraphim.dev/v1',
  kind: 'Template',
  metadata: {
    id: 'retail-demand-anomaly-watch',
    version: '1.0.0',
    name: 'Demand anomaly watch',
    vertical: 'retail',
    tags: ['demand-planning', 'replenishment', 'anomaly-detection'],
    description:
      "Compares a SKU's daily sales in a store with its forecast and stock: promotions discounted, small corrections turned into replenishment suggestions (or orders) automatically, large or suspicious anomalies sent to a planner.",
    changelog:
      '1.0.0: first release: deviation, cover and data-quality rules, `suggest` or `auto-order` replenishment, planner review above `escalationScore`.',
  },
  extends: refOf(retail),
  variables: {
    deviationPct: {
      type: 'number',
      minimum: 1,
      maximum: 1_000,
      default: 40,
      description:
        'How far (in %) sales may stray from the forecast, either way, before it counts as an anomaly.',
    },
    stockoutCoverDays: {
      type: 'number',
      minimum: 0,
      maximum: 60,
      default: 2,
      description:
        'Days of cover (stock on hand and on order over the run rate) below which a stock-out is coming.',
    },
    targetCoverDays: {
      type: 'number',
      minimum: 1,
      maximum: 90,
      default: 7,
      description: 'Days of cover a replenishment order restores.',
    },
    maxAutoOrderUnits: {
      type: 'number',
      integer: true,
      minimum: 1,
      default: 500,
      description: 'Suggested orders above this many units count as a signal for the planner.',
    },
    escalationScore: {
      type: 'number',
      integer: true,
      minimum: 1,
      maximum: 500,
      default: 70,
      description: 'Anomaly score at which a planner decides instead of the automatic adjustment.',
    },
    ignorePromotions: {
      type: 'boolean',
      default: true,
      description: 'Discount a spike while a promotion runs: it is expected, not an anomaly.',
    },
    replenishmentMode: {
      type: 'enum',
      values: ['suggest', 'auto-order'],
      default: 'suggest',
      description:
        '`suggest` records a suggested order for the store; `auto-order` marks it for the ordering system.',
    },
    forecastDataset: {
      type: 'dataset',
      default: 'demand-forecast-daily',
      description: 'The daily forecast by SKU and store the input is compared with.',
    },
  },
  spec: {
    workflow: {
      inputSchema: {
        type: 'object',
        properties: {
          sku: { type: 'string', minLength: 1, maxLength: 64 },
          storeId: { type: 'string', minLength: 1, maxLength: 64 },
          date: { type: 'string', format: 'date' },
          unitsSold: { type: 'number', minimum: 0 },
          forecastUnits: { type: 'number', minimum: 0 },
          trailing7dAvg: { type: 'number', minimum: 0 },
          onHand: { type: 'integer' },
          onOrder: { type: 'integer', minimum: 0 },
          promoActive: { type: 'boolean' },
        },
        required: [
          'sku',
          'storeId',
          'date',
          'unitsSold',
          'forecastUnits',
          'trailing7dAvg',
          'onHand',
          'onOrder',
          'promoActive',
        ],
      },
      steps: [
        {
          id: 'check',
          agent: 'validate',
          inputs: { onHand: 'input.onHand', forecastUnits: 'input.forecastUnits' },
          output: 'dataCheck',
          config: {
            mode: 'report',
            // Negative stock on hand (phantom inventory) or no forecast: the numbers cannot be acted on.
            schema: {
              type: 'object',
              properties: {
                onHand: { type: 'integer', minimum: 0 },
                forecastUnits: { type: 'number', exclusiveMinimum: 0 },
              },
            },
          },
        },
        {
          id: 'measure',
          agent: 'transform',
          inputs: {
            sold: 'input.unitsSold',
            forecast: 'input.forecastUnits',
            trailing: 'input.trailing7dAvg',
            onHand: 'input.onHand',
            onOrder: 'input.onOrder',
          },
          output: 'measures',
          config: {
            expression:
              '( $runRate := $max([(trailing + sold) / 2, 0.1]); $stock := $max([onHand, 0]) + onOrder; { "deviationPct": forecast > 0 ? $round((sold - forecast) / forecast * 100, 1) : 0, "runRate": $round($runRate, 1), "coverDays": $round($stock / $runRate, 1), "suggestedOrderUnits": $max([0, $ceil($runRate * ${targetCoverDays} - $stock)]) } )',
          },
        },
        {
          id: 'classify',
          agent: 'rules',
          inputs: { m: 'measures', promoActive: 'input.promoActive', dataCheck: 'dataCheck' },
          output: 'signal',
          cache: { key: ['m', 'promoActive', 'dataCheck'] },
          config: {
            strategy: 'sum',
            rules: [
              {
                id: 'data-quality',
                when: 'dataCheck.valid = false',
                decision: 'escalate',
                reason: 'negative stock on hand or no forecast: check the data first',
              },
              {
                id: 'spike',
                when: 'm.deviationPct >= ${deviationPct}',
                score: 40,
                reason: 'sales ${deviationPct}% or more above forecast',
              },
              {
                id: 'drop',
                when: 'm.deviationPct <= -${deviationPct}',
                score: 40,
                reason:
                  'sales ${deviationPct}% or more below forecast (shelf gap, phantom stock, competitor?)',
              },
              {
                id: 'extreme',
                when: '$abs(m.deviationPct) >= ${deviationPct * 2}',
                score: 30,
                reason: 'off forecast by ${deviationPct * 2}% or more',
              },
              {
                id: 'promotion',
                when: '${ignorePromotions} and promoActive = true and m.deviationPct >= ${deviationPct}',
                score: -40,
                reason: 'spike during a promotion: expected',
              },
              {
                id: 'stockout-risk',
                when: 'm.coverDays < ${stockoutCoverDays}',
                score: 40,
                reason: 'under ${stockoutCoverDays} days of cover',
              },
              {
                id: 'large-order',
                when: 'm.suggestedOrderUnits > ${maxAutoOrderUnits}',
                score: 30,
                reason: 'suggested order above ${maxAutoOrderUnits} units',
              },
            ],
            thresholds: [
              { minScore: '${escalationScore}', decision: 'escalate' },
              { minScore: 40, decision: 'adjust' },
            ],
            defaultDecision: 'normal',
          },
        },
        {
          id: 'route',
          agent: 'branch',
          inputs: { signal: 'signal' },
          output: 'routing',
          config: {
            cases: [{ when: "signal.decision = 'escalate'", then: ['plannerReview'] }],
            otherwise: ['autoAdjust'],
          },
        },
        {
          id: 'autoAdjust',
          agent: 'transform',
          inputs: { signal: 'signal', m: 'measures' },
          output: 'adjustment',
          config: {
            expression:
              '( $order := signal.decision = "adjust" and m.suggestedOrderUnits > 0; { "action": $order ? ("${replenishmentMode}" = "auto-order" ? "order-placed" : "order-suggested") : "none", "orderUnits": $order ? m.suggestedOrderUnits : 0 } )',
          },
        },
        {
          id: 'plannerReview',
          agent: 'human',
          inputs: {
            sku: 'input.sku',
            storeId: 'input.storeId',
            date: 'input.date',
            sold: 'input.unitsSold',
            forecast: 'input.forecastUnits',
            m: 'measures',
            signal: 'signal',
          },
          output: 'plannerDecision',
          config: {
            prompt:
              'Demand anomaly, {{sku}} at store {{storeId}} on {{date}}: sold {{sold}} against a forecast of {{forecast}} ({{m.deviationPct}}%), {{m.coverDays}} days of cover. Signals: {{signal.reasons}}. Approve to order {{m.suggestedOrderUnits}} units; reject to take no action.',
          },
        },
        {
          id: 'settle',
          agent: 'transform',
          join: 'any',
          inputs: {
            auto: 'adjustment',
            manual: 'plannerDecision',
            signal: 'signal',
            m: 'measures',
            sku: 'input.sku',
            storeId: 'input.storeId',
            date: 'input.date',
          },
          output: 'outcome',
          config: {
            expression:
              '( $approved := manual.decision = "approved"; { "sku": sku, "storeId": storeId, "date": date, "classification": signal.decision, "action": auto ? auto.action : ($approved ? "order-approved" : "no-action"), "orderUnits": auto ? auto.orderUnits : ($approved ? m.suggestedOrderUnits : 0), "deviationPct": m.deviationPct, "coverDays": m.coverDays, "reasons": signal.reasons, "automated": auto ? true : false } )',
          },
        },
      ],
    },
    datasets: [
      {
        dataset: '${forecastDataset}',
        description: 'Daily forecast by SKU and store, published by the forecasting pipeline.',
        required: true,
      },
    ],
    metrics: [
      // Removes the base's metric: nobody waits on a nightly watch, so its latency measures nothing.
      { id: 'endToEndLatency', $patch: 'delete' },
      {
        id: 'anomalyPrecision',
        description: 'Share of escalated anomalies a planner acted on.',
        goal: 'maximize',
        target: 70,
        unit: '%',
      },
    ],
  },
  samples: [
    {
      name: 'promotion-spike',
      description:
        'Sales more than double the forecast during a promotion, with stock to spare: expected, no action.',
      input: {
        sku: 'SKU-448812',
        storeId: 'ST-0117',
        date: '2026-03-02',
        unitsSold: 180,
        forecastUnits: 80,
        trailing7dAvg: 85,
        onHand: 900,
        onOrder: 0,
        promoActive: true,
      },
    },
    {
      name: 'stockout-coming',
      description:
        'Sales on forecast, but less than a day of cover left: a replenishment order is suggested.',
      input: {
        sku: 'SKU-102934',
        storeId: 'ST-0042',
        date: '2026-03-02',
        unitsSold: 60,
        forecastUnits: 55,
        trailing7dAvg: 58,
        onHand: 40,
        onOrder: 0,
        promoActive: false,
      },
    },
    {
      name: 'unexplained-spike',
      description:
        'Sales almost three times the forecast with no promotion and stock running out: a planner decides.',
      input: {
        sku: 'SKU-771205',
        storeId: 'ST-0309',
        date: '2026-03-02',
        unitsSold: 240,
        forecastUnits: 90,
        trailing7dAvg: 95,
        onHand: 120,
        onOrder: 0,
        promoActive: false,
      },
    },
    {
      name: 'negative-stock',
      description:
        'Stock on hand below zero (phantom inventory): the data is checked by a planner before any order.',
      input: {
        sku: 'SKU-300871',
        storeId: 'ST-0042',
        date: '2026-03-02',
        unitsSold: 14,
        forecastUnits: 12,
        trailing7dAvg: 11,
        onHand: -12,
        onOrder: 24,
        promoActive: false,
      },
    },
  ],
};
