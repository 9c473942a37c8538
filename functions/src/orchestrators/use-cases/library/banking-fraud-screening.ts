/**
 * Payment fraud screening: every outgoing payment is checked (KYC, booking
 * currency), scored by a rule table (high-risk jurisdictions, unusual
 * amounts, velocity, mule patterns), and released, blocked or held for an
 * analyst. An external fraud model can add its score (off by default, so a
 * fresh install never calls out). `shadow` mode records what the rules would
 * have done and releases everything: how a new rule set is trialled.
 */
import type { TemplateInput } from '../templates/model.js';
import { banking } from './banking.js';
import { refOf } from './ref.js';

export const bankingFraudScreening: TemplateInput = {
  apiVersion: 'seraphim.dev/v1',
  kind: 'Template',
  metadata: {
    id: 'banking-fraud-screening',
    version: '1.0.0',
    name: 'Payment fraud screening',
    vertical: 'banking',
    tags: ['fraud', 'payments', 'transaction-monitoring'],
    description:
      'Screens an outgoing payment: KYC and currency checks, a fraud rule table (high-risk jurisdictions, unusual amounts, velocity, mule patterns), an optional external fraud model, then release, block, or hold for an analyst.',
    changelog:
      '1.0.0: first release: rule table with review and block bands, shadow mode, optional external fraud model behind `externalScoring`.',
  },
  extends: refOf(banking),
  variables: {
    reviewThreshold: {
      type: 'number',
      integer: true,
      minimum: 1,
      maximum: 500,
      default: 60,
      description: 'Risk score at which a payment is held for an analyst.',
    },
    blockThreshold: {
      type: 'number',
      integer: true,
      minimum: 1,
      maximum: 500,
      default: 100,
      description:
        'Risk score at which a payment is blocked outright, without review. Keep it above reviewThreshold.',
    },
    largeAmount: {
      type: 'number',
      minimum: 0,
      default: 10_000,
      description: 'Amount (in the booking currency) from which a payment counts as large.',
    },
    spikeFactor: {
      type: 'number',
      minimum: 1,
      maximum: 100,
      default: 5,
      description: "How many times the customer's 90-day average amount makes a payment unusual.",
    },
    velocityLimit: {
      type: 'number',
      integer: true,
      minimum: 1,
      default: 10,
      description: 'Payments in the last 24 hours from which the customer counts as unusually active.',
    },
    highRiskCountries: {
      type: 'string',
      pattern: '[A-Z]{2}(,[A-Z]{2})*',
      default: 'KP,IR,MM',
      description:
        'ISO 3166 codes of high-risk jurisdictions, comma-separated (default: the FATF call-for-action list).',
    },
    mode: {
      type: 'enum',
      values: ['enforce', 'shadow'],
      default: 'enforce',
      description:
        '`enforce` holds and blocks; `shadow` releases every payment and records what the rules would have done, to trial a new rule set.',
    },
    reviewDeadlineSeconds: {
      type: 'number',
      integer: true,
      minimum: 300,
      required: false,
      description:
        'With no analyst decision by then the review fails and the payment goes back to the payments hub as unscreened. Unset: no deadline.',
    },
    customerProfiles: {
      type: 'dataset',
      default: 'customer-risk-profiles',
      description:
        "Customers' behavioural profiles (90-day averages, velocity, trusted devices) the input is built from.",
    },
    externalScoring: {
      type: 'boolean',
      default: false,
      description: 'Also ask an external fraud model for a score (an HTTP call per payment).',
    },
    scoringApiUrl: {
      type: 'string',
      pattern: 'https://.+',
      default: 'https://fraud-scoring.example.com/v1/score',
      description: 'The external fraud model: POSTed the payment, it answers `{ "score": 0..1 }`.',
    },
    scoringApiSecret: {
      type: 'secret',
      required: false,
      description:
        "Name of the secret holding the external fraud model's bearer token (e.g. FRAUD_SCORING_TOKEN); needed only with externalScoring. The workspace must be allowed to use it.",
    },
    externalScoreCutoff: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: 0.8,
      description: 'External model score from which it adds to the risk score (50 points).',
    },
  },
  spec: {
    secrets: ['${scoringApiSecret}'],
    workflow: {
      inputSchema: {
        type: 'object',
        properties: {
          transactionId: { type: 'string', minLength: 1, maxLength: 64 },
          amount: { type: 'number', exclusiveMinimum: 0 },
          currency: { type: 'string', pattern: '^[A-Z]{3}$' },
          channel: { type: 'string', enum: ['card', 'wire', 'instant', 'direct-debit'] },
          counterpartyCountry: { type: 'string', pattern: '^[A-Z]{2}$' },
          customerId: { type: 'string', minLength: 1 },
          kycVerified: { type: 'boolean' },
          accountAgeDays: { type: 'integer', minimum: 0 },
          averageAmount90d: { type: 'number', minimum: 0 },
          transactionsLast24h: { type: 'integer', minimum: 0 },
          newPayee: { type: 'boolean' },
          trustedDevice: { type: 'boolean' },
        },
        required: [
          'transactionId',
          'amount',
          'currency',
          'channel',
          'counterpartyCountry',
          'customerId',
          'kycVerified',
          'accountAgeDays',
          'averageAmount90d',
          'transactionsLast24h',
          'newPayee',
          'trustedDevice',
        ],
      },
      vars: { externalScoring: '${externalScoring}' },
      steps: [
        {
          id: 'screen',
          agent: 'validate',
          inputs: { currency: 'input.currency', kycVerified: 'input.kycVerified' },
          output: 'screening',
          config: {
            mode: 'report',
            schema: {
              type: 'object',
              properties: { currency: { const: '${currency}' }, kycVerified: { const: true } },
              required: ['currency', 'kycVerified'],
            },
          },
        },
        {
          id: 'scoringGate',
          agent: 'branch',
          inputs: { enabled: 'vars.externalScoring' },
          output: 'scoringRoute',
          config: { cases: [{ when: 'enabled = true', then: ['externalScore'] }] },
        },
        {
          id: 'externalScore',
          agent: 'http',
          inputs: { payment: 'input' },
          output: 'externalRisk',
          timeoutSeconds: 15,
          config: {
            method: 'POST',
            url: '${scoringApiUrl}',
            auth: { bearerSecret: '${scoringApiSecret}' },
            body: 'payment',
            responseType: 'json',
            timeoutSeconds: 10,
          },
        },
        {
          id: 'score',
          agent: 'rules',
          // After the gate: the external score when it ran, without it when it was skipped.
          join: 'any',
          inputs: {
            amount: 'input.amount',
            channel: 'input.channel',
            country: 'input.counterpartyCountry',
            accountAgeDays: 'input.accountAgeDays',
            averageAmount: 'input.averageAmount90d',
            recent: 'input.transactionsLast24h',
            newPayee: 'input.newPayee',
            trustedDevice: 'input.trustedDevice',
            screening: 'screening',
            external: 'externalRisk',
          },
          output: 'risk',
          config: {
            strategy: 'sum',
            rules: [
              {
                id: 'screening-failed',
                when: 'screening.valid = false',
                decision: 'review',
                reason: 'KYC not verified, or a currency other than ${currency}',
              },
              {
                id: 'high-risk-country',
                when: "country in $split('${highRiskCountries}', ',')",
                score: 50,
                reason: 'counterparty in a high-risk jurisdiction',
              },
              {
                id: 'large-amount',
                when: 'amount >= ${largeAmount}',
                score: 30,
                reason: '${largeAmount} ${currency} or more',
              },
              {
                id: 'unusual-amount',
                when: 'averageAmount > 0 and amount > averageAmount * ${spikeFactor}',
                score: 25,
                reason: "over ${spikeFactor} times the customer's 90-day average",
              },
              {
                id: 'velocity',
                when: 'recent >= ${velocityLimit}',
                score: 25,
                reason: '${velocityLimit} or more payments in 24 hours',
              },
              {
                id: 'new-account',
                when: 'accountAgeDays < 30',
                score: 20,
                reason: 'account under 30 days old',
              },
              {
                id: 'mule-pattern',
                when: 'newPayee = true and trustedDevice = false',
                score: 35,
                reason: 'new payee from an unrecognised device',
              },
              {
                id: 'instant-new-payee',
                when: "channel = 'instant' and newPayee = true",
                score: 15,
                reason: 'irrevocable instant payment to a new payee',
              },
              {
                id: 'external-model',
                when: 'external.body.score >= ${externalScoreCutoff}',
                score: 50,
                reason: 'external fraud model score of ${externalScoreCutoff} or more',
              },
            ],
            thresholds: [
              { minScore: '${blockThreshold}', decision: 'block' },
              { minScore: '${reviewThreshold}', decision: 'review' },
            ],
            defaultDecision: 'release',
          },
        },
        {
          id: 'route',
          agent: 'branch',
          inputs: { risk: 'risk' },
          output: 'routing',
          config: {
            cases: [{ when: "'${mode}' = 'enforce' and risk.decision = 'review'", then: ['analystReview'] }],
            otherwise: ['autoDecide'],
          },
        },
        {
          id: 'autoDecide',
          agent: 'transform',
          inputs: { risk: 'risk' },
          output: 'autoDecision',
          config: {
            fields: {
              action: "'${mode}' = 'enforce' and risk.decision = 'block' ? 'block' : 'release'",
              rulesDecision: 'risk.decision',
              mode: "'${mode}'",
            },
          },
        },
        {
          id: 'analystReview',
          agent: 'human',
          inputs: {
            transactionId: 'input.transactionId',
            amount: 'input.amount',
            currency: 'input.currency',
            country: 'input.counterpartyCountry',
            risk: 'risk',
          },
          output: 'analystDecision',
          config: {
            prompt:
              'Payment {{transactionId}}: {{amount}} {{currency}} to {{country}}, risk score {{risk.score}} ({{risk.reasons}}). Approve to release it; reject to block it and notify the customer.',
            timeoutSeconds: '${reviewDeadlineSeconds}',
          },
        },
        {
          id: 'settle',
          agent: 'transform',
          join: 'any',
          inputs: {
            auto: 'autoDecision',
            manual: 'analystDecision',
            risk: 'risk',
            transactionId: 'input.transactionId',
            region: 'vars.region',
            list: 'vars.sanctionsList',
          },
          output: 'outcome',
          config: {
            expression:
              '{ "transactionId": transactionId, "action": auto ? auto.action : (manual.decision = "approved" ? "release" : "block"), "rulesDecision": risk.decision, "score": risk.score, "reasons": risk.reasons, "automated": auto ? true : false, "decidedBy": auto ? "rules" : manual.by, "region": region, "screenedAgainst": list }',
          },
        },
      ],
    },
    datasets: [
      {
        dataset: '${customerProfiles}',
        description:
          "Customers' 90-day payment averages, velocity and trusted devices: what the payments hub fills the input from.",
        required: true,
      },
    ],
    metrics: [
      {
        id: 'fraudLossRate',
        description: 'Confirmed fraud losses per amount released, in basis points.',
        goal: 'minimize',
        target: 1,
        unit: 'bp',
      },
    ],
  },
  samples: [
    {
      name: 'everyday-card-payment',
      description:
        'A small card payment from a long-standing customer on a known device: released by the rules.',
      input: {
        transactionId: 'TX-20260301-0001',
        amount: 84.5,
        currency: 'EUR',
        channel: 'card',
        counterpartyCountry: 'DE',
        customerId: 'CU-10042',
        kycVerified: true,
        accountAgeDays: 2210,
        averageAmount90d: 120,
        transactionsLast24h: 2,
        newPayee: false,
        trustedDevice: true,
      },
    },
    {
      name: 'wire-to-high-risk-jurisdiction',
      description:
        'A large wire to a high-risk jurisdiction, far above the customer’s usual amounts: blocked by the rules without review.',
      input: {
        transactionId: 'TX-20260301-0002',
        amount: 48_000,
        currency: 'EUR',
        channel: 'wire',
        counterpartyCountry: 'IR',
        customerId: 'CU-20117',
        kycVerified: true,
        accountAgeDays: 860,
        averageAmount90d: 1_500,
        transactionsLast24h: 1,
        newPayee: true,
        trustedDevice: true,
      },
    },
    {
      name: 'money-mule-pattern',
      description:
        'A new account sending an instant payment to a new payee from an unknown device, after a burst of payments: held for an analyst.',
      input: {
        transactionId: 'TX-20260301-0003',
        amount: 2_900,
        currency: 'EUR',
        channel: 'instant',
        counterpartyCountry: 'NL',
        customerId: 'CU-99871',
        kycVerified: true,
        accountAgeDays: 12,
        averageAmount90d: 2_400,
        transactionsLast24h: 14,
        newPayee: true,
        trustedDevice: false,
      },
    },
    {
      name: 'unverified-customer',
      description: 'A customer whose KYC is not complete: always held for an analyst, whatever the score.',
      input: {
        transactionId: 'TX-20260301-0004',
        amount: 250,
        currency: 'EUR',
        channel: 'card',
        counterpartyCountry: 'FR',
        customerId: 'CU-30555',
        kycVerified: false,
        accountAgeDays: 45,
        averageAmount90d: 180,
        transactionsLast24h: 1,
        newPayee: false,
        trustedDevice: true,
      },
    },
  ],
};
