/**
 * The demo `npm start` seeds: a claims-triage use case and a few executions of
 * it, so a new user finds something real to explore. Only where the demo
 * workspace has no use case yet: a restart never overwrites their changes.
 */
import type { Context } from '../../platform/orchestrator.js';
import { type UseCaseBody, UseCaseBodySchema } from '../use-cases/model.js';
import { findUseCase, saveUseCase } from '../use-cases/store.js';
import type { ExecutionEngine } from './engine.js';

export const DEMO_WORKSPACE = 'demo';

export const claimsTriage: UseCaseBody = UseCaseBodySchema.parse({
  id: 'claims-triage',
  name: 'Claims triage',
  vertical: 'insurance',
  description:
    'Scores an insurance claim with a rule table, approves small ones automatically and sends large or suspicious ones to a person.',
  workflow: {
    inputSchema: {
      type: 'object',
      properties: {
        claimId: { type: 'string' },
        amount: { type: 'number' },
        priorClaims: { type: 'number' },
      },
      required: ['claimId', 'amount'],
    },
    vars: { currency: 'EUR' },
    steps: [
      {
        id: 'check',
        agent: 'validate',
        inputs: { claimId: 'input.claimId', amount: 'input.amount' },
        output: 'checked',
        config: {
          schema: {
            type: 'object',
            properties: {
              claimId: { type: 'string', minLength: 1 },
              amount: { type: 'number', exclusiveMinimum: 0 },
            },
            required: ['claimId', 'amount'],
          },
        },
      },
      {
        id: 'score',
        agent: 'rules',
        inputs: { amount: 'input.amount', priorClaims: 'input.priorClaims', checked: 'checked' },
        output: 'risk',
        config: {
          strategy: 'sum',
          rules: [
            { id: 'large', when: 'amount > 5000', score: 60, reason: 'claim above 5,000' },
            {
              id: 'medium',
              when: 'amount > 1000 and amount <= 5000',
              score: 25,
              reason: 'claim above 1,000',
            },
            {
              id: 'repeat',
              when: '(priorClaims ? priorClaims : 0) >= 3',
              score: 30,
              reason: 'three or more prior claims',
            },
          ],
          thresholds: [{ minScore: 50, decision: 'review' }],
          defaultDecision: 'approve',
        },
        cache: { key: ['amount', 'priorClaims'], ttlSeconds: 3600 },
      },
      {
        id: 'route',
        agent: 'branch',
        inputs: { risk: 'risk' },
        output: 'routing',
        config: {
          cases: [{ when: "risk.decision = 'review'", then: ['review'] }],
          otherwise: ['autoApprove'],
        },
      },
      {
        id: 'autoApprove',
        agent: 'transform',
        inputs: { risk: 'risk' },
        output: 'approval',
        config: { expression: '{ "approved": true, "by": "rules", "score": risk.score }' },
      },
      {
        id: 'review',
        agent: 'human',
        inputs: { claimId: 'input.claimId', amount: 'input.amount' },
        output: 'humanReview',
        config: { prompt: 'Claim {{claimId}} asks for {{amount}}. Approve it?' },
      },
      {
        id: 'settle',
        agent: 'transform',
        inputs: {
          auto: 'approval',
          manual: 'humanReview',
          currency: 'vars.currency',
          claimId: 'input.claimId',
        },
        output: 'settlement',
        join: 'any',
        config: {
          expression:
            '{ "claimId": claimId, "approved": auto ? auto.approved : manual.decision = "approved", "currency": currency }',
        },
      },
    ],
  },
});

export async function seedExecutionsDemo(
  ctx: Context,
  engine: ExecutionEngine,
): Promise<{ seeded: boolean }> {
  const existing = await findUseCase(ctx.documents, DEMO_WORKSPACE, claimsTriage.id);
  if (existing) return { seeded: false };
  const { useCase } = await saveUseCase(ctx.documents, DEMO_WORKSPACE, claimsTriage, ctx.clock.now());
  for (const input of [
    { claimId: 'C-1001', amount: 420, priorClaims: 0 },
    { claimId: 'C-1002', amount: 8600, priorClaims: 1 },
    { claimId: 'C-1003', amount: 2300, priorClaims: 4 },
    { claimId: 'C-1004', amount: 420, priorClaims: 0 },
  ]) {
    await engine.start(ctx, DEMO_WORKSPACE, useCase, input);
  }
  return { seeded: true };
}
