/**
 * Claims triage: a first notice of loss is checked for its documents, scored
 * by a rule table (amount, late reporting, a claim soon after cover starts,
 * frequency, theft without a police report), and either paid straight
 * through (amount less deductible) or sent to an adjuster. An LLM can write
 * the adjuster a summary (off by default: no call out unless asked).
 *
 * Inheritance at work: it keeps claims 30 days, not the base's 7
 * (`retentionDays`), and lowers the base's automation-rate target to 60%.
 */
import type { TemplateInput } from '../templates/model.js';
import { insurance } from './insurance.js';
import { refOf } from './ref.js';

export const insuranceClaimsTriage: TemplateInput = {
  apiVersion: 'seraphim.dev/v1',
  kind: 'Template',
  metadata: {
    id: 'insurance-claims-triage',
    version: '1.0.0',
    name: 'Claims triage',
    vertical: 'insurance',
    tags: ['fnol', 'triage', 'straight-through-processing'],
    description:
      'Triages a first notice of loss: document check, a rule table (amount, late reporting, new policy, frequency, theft without police report), straight-through payout of small clean claims, adjuster review of the rest with an optional LLM summary.',
    changelog:
      '1.0.0: first release: automatic payout below `autoApproveLimit`, adjuster review above it or on a risk score, optional LLM summary for the adjuster.',
  },
  extends: refOf(insurance),
  variables: {
    // Overrides what seraphim-base sets: claims are disputed for weeks, not days.
    retentionDays: { default: 30 },
    autoApproveLimit: {
      type: 'number',
      minimum: 0,
      default: 2_500,
      description: 'Claims above this amount (in the claims currency) always go to an adjuster.',
    },
    reviewScore: {
      type: 'number',
      integer: true,
      minimum: 1,
      maximum: 500,
      default: 50,
      description: 'Risk score at which a claim goes to an adjuster.',
    },
    lateReportingDays: {
      type: 'number',
      integer: true,
      minimum: 1,
      maximum: 365,
      default: 30,
      description: 'Days between incident and report after which the report counts as late.',
    },
    priorClaimsLimit: {
      type: 'number',
      integer: true,
      minimum: 1,
      default: 2,
      description: 'Claims in the last 12 months from which the claimant counts as frequent.',
    },
    reviewTeam: {
      type: 'enum',
      values: ['claims-adjuster', 'special-investigations'],
      default: 'claims-adjuster',
      description:
        'Who reviews the claims the rules hold back: the adjusters, or the special investigations unit.',
    },
    adjusterSummary: {
      type: 'boolean',
      default: false,
      description: 'Ask an LLM to summarise each held claim for the reviewer (one model call per review).',
    },
    llmProvider: {
      type: 'string',
      pattern: '[A-Z][A-Z0-9_]*',
      maxLength: 40,
      default: 'LLM',
      description:
        'Settings prefix of the LLM provider for summaries: `<P>_BASE_URL`, `<P>_MODEL` and the platform secret `<P>_API_KEY`.',
    },
  },
  spec: {
    workflow: {
      inputSchema: {
        type: 'object',
        properties: {
          claimId: { type: 'string', minLength: 1, maxLength: 64 },
          policyId: { type: 'string', minLength: 1, maxLength: 64 },
          lineOfBusiness: { type: 'string', enum: ['motor', 'home', 'travel'] },
          cause: {
            type: 'string',
            enum: ['collision', 'glass', 'theft', 'fire', 'water', 'storm', 'medical', 'other'],
          },
          amount: { type: 'number', exclusiveMinimum: 0 },
          deductible: { type: 'number', minimum: 0 },
          incidentDate: { type: 'string', format: 'date' },
          reportedDate: { type: 'string', format: 'date' },
          policyStartDate: { type: 'string', format: 'date' },
          priorClaims12m: { type: 'integer', minimum: 0 },
          policeReportRef: { type: ['string', 'null'] },
          documents: { type: 'array', items: { type: 'string' }, maxItems: 50 },
        },
        required: [
          'claimId',
          'policyId',
          'lineOfBusiness',
          'cause',
          'amount',
          'incidentDate',
          'reportedDate',
          'policyStartDate',
          'priorClaims12m',
          'documents',
        ],
      },
      vars: { adjusterSummary: '${adjusterSummary}' },
      steps: [
        {
          id: 'intake',
          agent: 'validate',
          inputs: { documents: 'input.documents' },
          output: 'intakeCheck',
          config: {
            mode: 'report',
            input: 'documents',
            // The claim form and at least one piece of evidence (photos, invoice, estimate).
            schema: { type: 'array', contains: { const: 'claim-form' }, minItems: 2 },
          },
        },
        {
          id: 'score',
          agent: 'rules',
          inputs: {
            amount: 'input.amount',
            cause: 'input.cause',
            incidentDate: 'input.incidentDate',
            reportedDate: 'input.reportedDate',
            policyStartDate: 'input.policyStartDate',
            priorClaims: 'input.priorClaims12m',
            policeReport: 'input.policeReportRef',
            intake: 'intakeCheck',
          },
          output: 'risk',
          // A rule table is deterministic: the same claim facts give the same score (ttl: the base's cache default).
          cache: {
            key: [
              'amount',
              'cause',
              'incidentDate',
              'reportedDate',
              'policyStartDate',
              'priorClaims',
              'policeReport',
              'intake',
            ],
          },
          config: {
            strategy: 'sum',
            rules: [
              {
                id: 'above-limit',
                when: 'amount > ${autoApproveLimit}',
                decision: 'review',
                reason: 'above the automatic payout limit of ${autoApproveLimit} ${currency}',
              },
              {
                id: 'before-cover',
                when: '$toMillis(incidentDate) < $toMillis(policyStartDate)',
                decision: 'review',
                reason: 'incident before the policy started',
              },
              {
                id: 'documents-missing',
                when: 'intake.valid = false',
                score: '${reviewScore}',
                reason: 'claim form or evidence missing',
              },
              {
                id: 'late-report',
                when: '$toMillis(reportedDate) - $toMillis(incidentDate) > ${lateReportingDays * 86400000}',
                score: 30,
                reason: 'reported more than ${lateReportingDays} days after the incident',
              },
              {
                id: 'new-policy',
                when: '$toMillis(incidentDate) - $toMillis(policyStartDate) < 30 * 86400000',
                score: 30,
                reason: 'incident within 30 days of the policy start',
              },
              {
                id: 'frequent-claimant',
                when: 'priorClaims >= ${priorClaimsLimit}',
                score: 25,
                reason: '${priorClaimsLimit} or more claims in 12 months',
              },
              {
                id: 'theft-without-report',
                when: "cause = 'theft' and $not($boolean(policeReport))",
                score: 40,
                reason: 'theft with no police report',
              },
            ],
            thresholds: [{ minScore: '${reviewScore}', decision: 'review' }],
            defaultDecision: 'approve',
          },
        },
        {
          id: 'route',
          agent: 'branch',
          inputs: { risk: 'risk', summaries: 'vars.adjusterSummary' },
          output: 'routing',
          config: {
            cases: [
              {
                when: "risk.decision = 'review' and summaries = true",
                then: ['summarise', 'adjusterReview'],
              },
              { when: "risk.decision = 'review'", then: ['adjusterReview'] },
            ],
            otherwise: ['autoApprove'],
          },
        },
        {
          id: 'autoApprove',
          agent: 'transform',
          inputs: { amount: 'input.amount', deductible: 'input.deductible' },
          output: 'approval',
          config: {
            fields: { approved: 'true', payout: '$max([amount - (deductible ? deductible : 0), 0])' },
          },
        },
        {
          id: 'summarise',
          agent: 'llm',
          inputs: { claim: 'input', risk: 'risk' },
          output: 'summary',
          timeoutSeconds: 120,
          config: {
            provider: '${llmProvider}',
            system:
              'You help a ${reviewTeam} decide on an insurance claim. Be factual and brief; never recommend a decision.',
            prompt:
              'Summarise this claim in at most five bullet points, then list what to verify.\nClaim: {{claim}}\nRisk signals: {{risk.reasons}}',
            temperature: 0,
            maxTokens: 400,
          },
        },
        {
          id: 'adjusterReview',
          agent: 'human',
          // After the route, and after the summary when there is one.
          join: 'any',
          inputs: {
            claimId: 'input.claimId',
            policyId: 'input.policyId',
            amount: 'input.amount',
            currency: 'vars.currency',
            risk: 'risk',
            summary: 'summary',
          },
          output: 'adjusterDecision',
          config: {
            prompt:
              '[${reviewTeam}] Claim {{claimId}} on policy {{policyId}} for {{amount}} {{currency}}, risk score {{risk.score}}: {{risk.reasons}}. Approve the payout?\n\n{{summary.text}}',
          },
        },
        {
          id: 'settle',
          agent: 'transform',
          join: 'any',
          inputs: {
            auto: 'approval',
            manual: 'adjusterDecision',
            risk: 'risk',
            claimId: 'input.claimId',
            amount: 'input.amount',
            deductible: 'input.deductible',
            currency: 'vars.currency',
          },
          output: 'outcome',
          config: {
            expression:
              '( $net := $max([amount - (deductible ? deductible : 0), 0]); $approved := auto ? true : manual.decision = "approved"; { "claimId": claimId, "approved": $approved, "payout": $approved ? $net : 0, "currency": currency, "score": risk.score, "reasons": risk.reasons, "automated": auto ? true : false, "decidedBy": auto ? "rules" : manual.by } )',
          },
        },
      ],
    },
    metrics: [
      // Overrides the base's 80%: a realistic straight-through target for motor and home claims.
      { id: 'automationRate', target: 60 },
    ],
  },
  samples: [
    {
      name: 'windscreen-repair',
      description:
        'A small glass claim, reported the next day with the form and an invoice: paid straight through.',
      input: {
        claimId: 'CLM-2026-00417',
        policyId: 'POL-MOT-88231',
        lineOfBusiness: 'motor',
        cause: 'glass',
        amount: 380,
        deductible: 100,
        incidentDate: '2026-02-11',
        reportedDate: '2026-02-12',
        policyStartDate: '2023-06-01',
        priorClaims12m: 0,
        documents: ['claim-form', 'repair-invoice', 'photo'],
      },
    },
    {
      name: 'storm-damage-new-policy',
      description:
        'Storm damage three weeks after cover started: one signal, below the review score, so it is still paid automatically.',
      input: {
        claimId: 'CLM-2026-00502',
        policyId: 'POL-HOM-10977',
        lineOfBusiness: 'home',
        cause: 'storm',
        amount: 900,
        deductible: 250,
        incidentDate: '2026-02-20',
        reportedDate: '2026-02-21',
        policyStartDate: '2026-01-30',
        priorClaims12m: 0,
        documents: ['claim-form', 'photo', 'roofer-estimate'],
      },
    },
    {
      name: 'late-theft-without-report',
      description: 'A theft reported 45 days late with no police report: held for an adjuster.',
      input: {
        claimId: 'CLM-2026-00533',
        policyId: 'POL-HOM-20411',
        lineOfBusiness: 'home',
        cause: 'theft',
        amount: 1_800,
        deductible: 150,
        incidentDate: '2026-01-05',
        reportedDate: '2026-02-19',
        policyStartDate: '2024-09-15',
        priorClaims12m: 1,
        policeReportRef: null,
        documents: ['claim-form', 'receipts'],
      },
    },
    {
      name: 'kitchen-fire',
      description: 'A large fire claim: above the automatic payout limit, so an adjuster decides.',
      input: {
        claimId: 'CLM-2026-00561',
        policyId: 'POL-HOM-30128',
        lineOfBusiness: 'home',
        cause: 'fire',
        amount: 48_000,
        deductible: 500,
        incidentDate: '2026-02-25',
        reportedDate: '2026-02-25',
        policyStartDate: '2019-03-01',
        priorClaims12m: 0,
        policeReportRef: 'FD-2026-1183',
        documents: ['claim-form', 'fire-brigade-report', 'photo', 'contractor-estimate'],
      },
    },
  ],
};
