/**
 * Ticket routing: an incoming ticket is checked (the desk's language, enough
 * detail to act on), given a topic by a first-match rule table (legal
 * threats first, then billing, account, technical), and an urgency by a
 * scoring one (tier, repeat contacts, outage words, frustration, channel).
 * Clear tickets are assigned to their queue with a priority and a response
 * deadline at once; legal threats, unclear tickets and urgent ones go to a
 * team lead, unless urgent tickets are set to be assigned automatically.
 */
import type { TemplateInput } from '../templates/model.js';
import { customerSupport } from './customer-support.js';
import { refOf } from './ref.js';

export const customerSupportTicketRouting: TemplateInput = {
  apiVersion: 'seraphim.dev/v1',
  kind: 'Template',
  metadata: {
    id: 'customer-support-ticket-routing',
    version: '1.0.0',
    name: 'Ticket routing',
    vertical: 'customer-support',
    tags: ['ticket-routing', 'triage', 'sla'],
    description:
      'Routes an incoming ticket: language and detail check, topic by keyword rules, urgency by a scoring table, automatic assignment with priority and response deadline, team-lead triage for legal threats, unclear and urgent tickets.',
    changelog:
      '1.0.0: first release: first-match topic rules, urgency score, automatic assignment, lead triage; urgent tickets can be auto-assigned with `autoAssignUrgent`.',
  },
  extends: refOf(customerSupport),
  variables: {
    urgentScore: {
      type: 'number',
      integer: true,
      minimum: 1,
      maximum: 500,
      default: 60,
      description: 'Urgency score at which a ticket is urgent (priority p1, one-hour response).',
    },
    repeatContactLimit: {
      type: 'number',
      integer: true,
      minimum: 1,
      default: 3,
      description: 'Contacts in the last 7 days from which a customer counts as chasing.',
    },
    defaultQueue: {
      type: 'enum',
      values: ['general', 'billing', 'account', 'technical'],
      default: 'general',
      description: 'The queue of a ticket no topic rule recognises.',
    },
    autoAssignUrgent: {
      type: 'boolean',
      default: false,
      description:
        "Assign urgent tickets straight to their queue's p1 lane instead of asking a team lead first (for desks with a 24/7 on-call lead).",
    },
  },
  spec: {
    workflow: {
      inputSchema: {
        type: 'object',
        properties: {
          ticketId: { type: 'string', minLength: 1, maxLength: 64 },
          channel: { type: 'string', enum: ['email', 'chat', 'phone', 'web-form'] },
          customerTier: { type: 'string', enum: ['free', 'pro', 'enterprise'] },
          language: { type: 'string', pattern: '^[a-z]{2}$' },
          subject: { type: 'string', maxLength: 300 },
          body: { type: 'string', maxLength: 20_000 },
          contactsLast7d: { type: 'integer', minimum: 0 },
        },
        required: ['ticketId', 'channel', 'customerTier', 'language', 'subject', 'body', 'contactsLast7d'],
      },
      steps: [
        {
          id: 'check',
          agent: 'validate',
          inputs: { language: 'input.language', body: 'input.body' },
          output: 'ticketCheck',
          config: {
            mode: 'report',
            schema: {
              type: 'object',
              properties: { language: { const: '${language}' }, body: { type: 'string', minLength: 20 } },
              required: ['language', 'body'],
            },
          },
        },
        {
          id: 'classify',
          agent: 'rules',
          inputs: { subject: 'input.subject', body: 'input.body' },
          output: 'topic',
          // The same words give the same topic (ttl: the base's cache default).
          cache: { key: ['subject', 'body'] },
          config: {
            strategy: 'first-match',
            rules: [
              {
                id: 'legal',
                when: "$contains(subject & ' ' & body, /(lawyer|solicitor|legal action|sue you|ombudsman|regulator)/i)",
                decision: 'escalation',
                reason: 'legal threat or regulator complaint',
              },
              {
                id: 'billing',
                when: "$contains(subject & ' ' & body, /(refund|invoice|charged|chargeback|billing|payment)/i)",
                decision: 'billing',
                reason: 'billing words',
              },
              {
                id: 'account',
                when: "$contains(subject & ' ' & body, /(password|log ?in|locked out|2fa|two-factor|delete my account)/i)",
                decision: 'account',
                reason: 'account access words',
              },
              {
                id: 'technical',
                when: "$contains(subject & ' ' & body, /(error|crash|bug|not working|time ?out|outage|\\bapi\\b|\\b5[0-9]{2}\\b)/i)",
                decision: 'technical',
                reason: 'technical words',
              },
            ],
            defaultDecision: '${defaultQueue}',
          },
        },
        {
          id: 'urgency',
          agent: 'rules',
          inputs: {
            tier: 'input.customerTier',
            channel: 'input.channel',
            contacts: 'input.contactsLast7d',
            subject: 'input.subject',
            body: 'input.body',
          },
          output: 'urgency',
          config: {
            strategy: 'sum',
            rules: [
              { id: 'enterprise', when: "tier = 'enterprise'", score: 40, reason: 'enterprise customer' },
              {
                id: 'chasing',
                when: 'contacts >= ${repeatContactLimit}',
                score: 30,
                reason: '${repeatContactLimit} or more contacts in 7 days',
              },
              {
                id: 'outage',
                when: "$contains(subject & ' ' & body, /(outage|production (is )?down|down for everyone|data loss)/i)",
                score: 40,
                reason: 'outage or data loss',
              },
              {
                id: 'frustrated',
                when: "$contains(subject & ' ' & body, /(unacceptable|furious|worst|cancel my (subscription|account))/i)",
                score: 20,
                reason: 'frustrated customer, churn risk',
              },
              { id: 'phone', when: "channel = 'phone'", score: 10, reason: 'came in by phone' },
            ],
            thresholds: [{ minScore: '${urgentScore}', decision: 'urgent' }],
            defaultDecision: 'normal',
          },
        },
        {
          id: 'route',
          agent: 'branch',
          inputs: { check: 'ticketCheck', topic: 'topic', urgency: 'urgency' },
          output: 'routing',
          config: {
            cases: [
              {
                when: "check.valid = false or topic.decision = 'escalation' or (urgency.decision = 'urgent' and ${autoAssignUrgent} = false)",
                then: ['leadTriage'],
              },
            ],
            otherwise: ['autoAssign'],
          },
        },
        {
          id: 'autoAssign',
          agent: 'transform',
          inputs: { topic: 'topic', urgency: 'urgency', sla: 'vars.firstResponseSlaHours' },
          output: 'assignment',
          config: {
            fields: {
              queue: 'topic.decision',
              priority: "urgency.decision = 'urgent' ? 'p1' : (urgency.score >= 30 ? 'p2' : 'p3')",
              firstResponseDueHours:
                "urgency.decision = 'urgent' ? 1 : (urgency.score >= 30 ? sla / 2 : sla)",
            },
          },
        },
        {
          id: 'leadTriage',
          agent: 'human',
          inputs: {
            ticketId: 'input.ticketId',
            tier: 'input.customerTier',
            channel: 'input.channel',
            language: 'input.language',
            subject: 'input.subject',
            check: 'ticketCheck',
            topic: 'topic',
            urgency: 'urgency',
          },
          output: 'leadDecision',
          config: {
            prompt:
              'Ticket {{ticketId}} ({{tier}}, {{channel}}, {{language}}): "{{subject}}". Suggested queue {{topic.decision}}, urgency {{urgency.decision}} ({{urgency.reasons}}); language and detail check passed: {{check.valid}}. Approve to route it as suggested; reject to route it yourself.',
          },
        },
        {
          id: 'settle',
          agent: 'transform',
          join: 'any',
          inputs: {
            auto: 'assignment',
            manual: 'leadDecision',
            topic: 'topic',
            urgency: 'urgency',
            ticketId: 'input.ticketId',
            sla: 'vars.firstResponseSlaHours',
          },
          output: 'outcome',
          config: {
            expression:
              '( $urgent := urgency.decision = "urgent"; { "ticketId": ticketId, "queue": auto ? auto.queue : (manual.decision = "approved" ? topic.decision : "manual"), "priority": auto ? auto.priority : ($urgent ? "p1" : "p2"), "firstResponseDueHours": auto ? auto.firstResponseDueHours : ($urgent ? 1 : sla), "topicReasons": topic.reasons, "urgencyReasons": urgency.reasons, "automated": auto ? true : false, "decidedBy": auto ? "rules" : manual.by } )',
          },
        },
      ],
    },
  },
  samples: [
    {
      name: 'double-charge',
      description: 'A pro customer charged twice: assigned to billing automatically.',
      input: {
        ticketId: 'TCK-880121',
        channel: 'email',
        customerTier: 'pro',
        language: 'en',
        subject: 'Charged twice for my March invoice',
        body: 'Hello, my card was charged twice for invoice INV-2026-0311. Could you refund the duplicate payment?',
        contactsLast7d: 0,
      },
    },
    {
      name: 'locked-out',
      description:
        'A free-tier user locked out after a password reset, over chat: assigned to the account queue.',
      input: {
        ticketId: 'TCK-880122',
        channel: 'chat',
        customerTier: 'free',
        language: 'en',
        subject: "Can't log in",
        body: 'I reset my password this morning and now I am locked out, the 2FA code is never accepted.',
        contactsLast7d: 1,
      },
    },
    {
      name: 'enterprise-outage',
      description:
        'An enterprise customer phoning about a production outage: urgent, so a team lead triages it.',
      input: {
        ticketId: 'TCK-880123',
        channel: 'phone',
        customerTier: 'enterprise',
        language: 'en',
        subject: 'Production is down: API returns 503',
        body: 'Since 09:40 UTC every call to the orders API returns 503. Production is down for all our stores.',
        contactsLast7d: 2,
      },
    },
    {
      name: 'legal-threat',
      description: 'A complaint threatening legal action: always a team lead, whatever the topic words.',
      input: {
        ticketId: 'TCK-880124',
        channel: 'web-form',
        customerTier: 'pro',
        language: 'en',
        subject: 'Refund refused',
        body: 'You refused my refund three times. If this is not solved this week my lawyer will take legal action.',
        contactsLast7d: 4,
      },
    },
  ],
};
