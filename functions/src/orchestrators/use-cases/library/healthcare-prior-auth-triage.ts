/**
 * Prior-authorisation triage: a provider's request for a service is checked
 * for its clinical documentation, assessed against coverage criteria
 * (conservative therapy before advanced imaging, surgery, network, cost), and
 * approved automatically when it clearly meets them. Nothing is ever denied
 * by rule: every request the rules do not approve goes to a clinical
 * reviewer, as adverse determinations must. A real-time eligibility check
 * with the payer can feed the assessment (off by default: no call out).
 */
import type { TemplateInput } from '../templates/model.js';
import { healthcare } from './healthcare.js';
import { refOf } from './ref.js';

export const healthcarePriorAuthTriage: TemplateInput = {
  apiVersion: 'seraphim.dev/v1',
  kind: 'Template',
  metadata: {
    id: 'healthcare-prior-auth-triage',
    version: '1.0.0',
    name: 'Prior authorisation triage',
    vertical: 'healthcare',
    tags: ['prior-authorization', 'utilization-management', 'payer'],
    description:
      'Triages prior-authorisation requests: documentation check, coverage criteria as a rule table, automatic approval of requests that clearly meet them, clinical review of everything else (rules never deny), with an optional real-time eligibility check.',
    changelog:
      '1.0.0: first release: approve-only automation, clinical review with CMS turnaround in the outcome, optional payer eligibility call behind `realTimeEligibility`.',
  },
  extends: refOf(healthcare),
  variables: {
    reviewScore: {
      type: 'number',
      integer: true,
      minimum: 1,
      maximum: 500,
      default: 50,
      description:
        'Assessment score at which a request goes to clinical review instead of automatic approval.',
    },
    highCostThreshold: {
      type: 'number',
      minimum: 0,
      default: 1_500,
      description: 'Estimated cost (USD) above which a request counts as high-cost.',
    },
    conservativeTherapyWeeks: {
      type: 'number',
      integer: true,
      minimum: 0,
      maximum: 52,
      default: 6,
      description:
        'Weeks of conservative therapy (physiotherapy, medication) expected before advanced imaging.',
    },
    reviewerRole: {
      type: 'enum',
      values: ['nurse-reviewer', 'medical-director'],
      default: 'nurse-reviewer',
      description: 'Who reviews the requests the rules do not approve.',
    },
    realTimeEligibility: {
      type: 'boolean',
      default: false,
      description: "Check the member's eligibility and benefits with the payer's API for each request.",
    },
    eligibilityApiUrl: {
      type: 'string',
      pattern: 'https://.+',
      default: 'https://payer.example.com/eligibility/v1/check',
      description:
        'The eligibility endpoint: POSTed member, service and provider, it answers `{ "covered": bool }`.',
    },
    eligibilityApiSecret: {
      type: 'secret',
      required: false,
      description:
        "Name of the secret holding the payer API's bearer token (e.g. PAYER_API_TOKEN); needed only with realTimeEligibility. The workspace must be allowed to use it.",
    },
  },
  spec: {
    secrets: ['${eligibilityApiSecret}'],
    workflow: {
      inputSchema: {
        type: 'object',
        properties: {
          requestId: { type: 'string', minLength: 1, maxLength: 64 },
          memberId: { type: 'string', minLength: 4, maxLength: 64 },
          memberAge: { type: 'integer', minimum: 0, maximum: 130 },
          providerNpi: { type: 'string', pattern: '^[0-9]{10}$' },
          serviceCode: { type: 'string', pattern: '^[A-Z0-9][0-9]{3}[A-Z0-9]$' },
          serviceCategory: {
            type: 'string',
            enum: ['imaging', 'surgery', 'therapy', 'dme', 'pharmacy', 'office-visit'],
          },
          diagnosisCodes: {
            type: 'array',
            items: { type: 'string', pattern: '^[A-TV-Z][0-9][0-9A-Z](\\.[0-9A-Z]{1,4})?$' },
            maxItems: 12,
          },
          urgency: { type: 'string', enum: ['standard', 'expedited'] },
          inNetwork: { type: 'boolean' },
          estimatedCost: { type: 'number', minimum: 0 },
          clinicalNotesAttached: { type: 'boolean' },
          priorTherapyWeeks: { type: 'integer', minimum: 0 },
        },
        required: [
          'requestId',
          'memberId',
          'providerNpi',
          'serviceCode',
          'serviceCategory',
          'diagnosisCodes',
          'urgency',
          'inNetwork',
          'estimatedCost',
          'clinicalNotesAttached',
          'priorTherapyWeeks',
        ],
      },
      vars: { realTimeEligibility: '${realTimeEligibility}' },
      steps: [
        {
          id: 'intake',
          agent: 'validate',
          inputs: {
            clinicalNotesAttached: 'input.clinicalNotesAttached',
            diagnosisCodes: 'input.diagnosisCodes',
          },
          output: 'documentation',
          config: {
            mode: 'report',
            schema: {
              type: 'object',
              properties: {
                clinicalNotesAttached: { const: true },
                diagnosisCodes: { type: 'array', minItems: 1 },
              },
              required: ['clinicalNotesAttached', 'diagnosisCodes'],
            },
          },
        },
        {
          id: 'eligibilityGate',
          agent: 'branch',
          inputs: { enabled: 'vars.realTimeEligibility' },
          output: 'eligibilityRoute',
          config: { cases: [{ when: 'enabled = true', then: ['eligibility'] }] },
        },
        {
          id: 'eligibility',
          agent: 'http',
          inputs: {
            memberId: 'input.memberId',
            serviceCode: 'input.serviceCode',
            providerNpi: 'input.providerNpi',
          },
          output: 'coverage',
          timeoutSeconds: 20,
          config: {
            method: 'POST',
            url: '${eligibilityApiUrl}',
            auth: { bearerSecret: '${eligibilityApiSecret}' },
            body: 'inputs',
            responseType: 'json',
            timeoutSeconds: 15,
          },
        },
        {
          id: 'criteria',
          agent: 'rules',
          // After the gate: with the payer's answer when it was asked, without it otherwise.
          join: 'any',
          inputs: {
            category: 'input.serviceCategory',
            cost: 'input.estimatedCost',
            inNetwork: 'input.inNetwork',
            therapyWeeks: 'input.priorTherapyWeeks',
            documentation: 'documentation',
            coverage: 'coverage',
          },
          output: 'assessment',
          config: {
            strategy: 'sum',
            rules: [
              {
                id: 'not-covered',
                when: 'coverage.body.covered = false',
                decision: 'review',
                reason: 'the payer reports the service as not covered',
              },
              {
                id: 'documentation-incomplete',
                when: 'documentation.valid = false',
                decision: 'review',
                reason: 'clinical notes or diagnosis codes missing',
              },
              {
                id: 'surgery',
                when: "category = 'surgery'",
                score: 50,
                reason: 'surgical procedures need clinical review',
              },
              {
                id: 'imaging-before-therapy',
                when: "category = 'imaging' and therapyWeeks < ${conservativeTherapyWeeks}",
                score: 50,
                reason: 'advanced imaging before ${conservativeTherapyWeeks} weeks of conservative therapy',
              },
              {
                id: 'out-of-network',
                when: 'inNetwork = false',
                score: 30,
                reason: 'out-of-network provider',
              },
              {
                id: 'high-cost',
                when: 'cost > ${highCostThreshold}',
                score: 30,
                reason: 'estimated cost above ${highCostThreshold} USD',
              },
            ],
            thresholds: [{ minScore: '${reviewScore}', decision: 'review' }],
            defaultDecision: 'approve',
          },
        },
        {
          id: 'route',
          agent: 'branch',
          inputs: { assessment: 'assessment' },
          output: 'routing',
          config: {
            cases: [{ when: "assessment.decision = 'review'", then: ['clinicalReview'] }],
            otherwise: ['autoApprove'],
          },
        },
        {
          id: 'autoApprove',
          agent: 'transform',
          inputs: { assessment: 'assessment' },
          output: 'autoApproval',
          config: {
            fields: { determination: "'approved'", basis: "'meets the automatic approval criteria'" },
          },
        },
        {
          id: 'clinicalReview',
          agent: 'human',
          inputs: {
            requestId: 'input.requestId',
            urgency: 'input.urgency',
            serviceCode: 'input.serviceCode',
            category: 'input.serviceCategory',
            diagnoses: 'input.diagnosisCodes',
            cost: 'input.estimatedCost',
            assessment: 'assessment',
          },
          output: 'clinicalDecision',
          config: {
            prompt:
              '[${reviewerRole}] {{urgency}} prior authorisation {{requestId}}: {{serviceCode}} ({{category}}) for {{diagnoses}}, estimated {{cost}} USD. Flags: {{assessment.reasons}}. Approve, or reject to record an adverse determination with its clinical rationale in the comment.',
          },
        },
        {
          id: 'determine',
          agent: 'transform',
          join: 'any',
          inputs: {
            auto: 'autoApproval',
            manual: 'clinicalDecision',
            assessment: 'assessment',
            requestId: 'input.requestId',
            memberId: 'input.memberId',
            urgency: 'input.urgency',
            redact: 'vars.redactPhi',
            region: 'vars.region',
          },
          output: 'outcome',
          config: {
            expression:
              '{ "requestId": requestId, "member": redact ? "***" & $substring(memberId, -4) : memberId, "determination": auto ? "approved" : (manual.decision = "approved" ? "approved" : "denied"), "rationale": auto ? auto.basis : manual.comment, "urgency": urgency, "dueWithinHours": urgency = "expedited" ? 72 : 168, "flags": assessment.reasons, "automated": auto ? true : false, "decidedBy": auto ? "rules" : manual.by, "region": region }',
          },
        },
      ],
    },
  },
  samples: [
    {
      name: 'physiotherapy-in-network',
      description:
        'A course of physiotherapy from an in-network provider, documented: approved automatically.',
      input: {
        requestId: 'PA-2026-004711',
        memberId: 'MBR-448120937',
        memberAge: 46,
        providerNpi: '1234567893',
        serviceCode: '97110',
        serviceCategory: 'therapy',
        diagnosisCodes: ['M54.50'],
        urgency: 'standard',
        inNetwork: true,
        estimatedCost: 960,
        clinicalNotesAttached: true,
        priorTherapyWeeks: 0,
      },
    },
    {
      name: 'early-lumbar-mri',
      description:
        'A lumbar spine MRI after two weeks of back pain, before conservative therapy: clinical review.',
      input: {
        requestId: 'PA-2026-004712',
        memberId: 'MBR-551902214',
        memberAge: 38,
        providerNpi: '1987654320',
        serviceCode: '72148',
        serviceCategory: 'imaging',
        diagnosisCodes: ['M54.16'],
        urgency: 'standard',
        inNetwork: true,
        estimatedCost: 1_100,
        clinicalNotesAttached: true,
        priorTherapyWeeks: 2,
      },
    },
    {
      name: 'expedited-knee-arthroscopy',
      description:
        'An expedited out-of-network knee arthroscopy: surgery and cost flags, so clinical review.',
      input: {
        requestId: 'PA-2026-004713',
        memberId: 'MBR-300118842',
        memberAge: 61,
        providerNpi: '1457389201',
        serviceCode: '29881',
        serviceCategory: 'surgery',
        diagnosisCodes: ['S83.241A', 'M23.221'],
        urgency: 'expedited',
        inNetwork: false,
        estimatedCost: 9_800,
        clinicalNotesAttached: true,
        priorTherapyWeeks: 8,
      },
    },
  ],
};
