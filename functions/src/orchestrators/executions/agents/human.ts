/**
 * The `human` agent: asks a person to approve or reject. Its run only renders
 * the prompt and returns `waiting`; the decision arrives later through the API
 * or Mission Control, and the engine completes the step with
 * `decisionOutput(decision)` (the `decision` input of machine.ts).
 *
 * The prompt takes `{{name}}` or `{{name.field}}` placeholders filled from the
 * step's inputs: plain substitution, no expressions, so an operator-facing
 * text can never compute anything.
 */
import { z } from 'zod';
import { renderTemplate } from './template.js';
import { defineAgent } from './types.js';

const MAX_PROMPT = 10_000;

export const HumanConfigSchema = z.strictObject({
  /** What the approver is asked. @example `Approve the payout of {{claim.amount}} for {{claim.id}}?` */
  prompt: z.string().min(1).max(MAX_PROMPT),
  /** User ids who may decide. @default anyone with access to the workspace */
  approvers: z.array(z.string().min(1)).min(1).optional(),
  /** How long the request stays open: with no decision by then the step fails (`human-timeout`). An operator can move the deadline (reschedule). */
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 24 * 3600)
    .optional(),
});
export type HumanConfig = z.output<typeof HumanConfigSchema>;

/** A decision on a waiting `human` step: who, what, when (ms since the epoch). */
export const HumanDecisionSchema = z.strictObject({
  decision: z.enum(['approved', 'rejected']),
  by: z.string().min(1),
  comment: z.string().max(4000).optional(),
  at: z.number().int().min(0),
});
export type HumanDecision = z.output<typeof HumanDecisionSchema>;

export interface HumanOutput {
  decision: 'approved' | 'rejected';
  by: string;
  comment: string | null;
  decidedAt: number;
}

/** The step output for a decision: the same shape the engine records. */
export function decisionOutput(decision: HumanDecision): HumanOutput {
  return {
    decision: decision.decision,
    by: decision.by,
    comment: decision.comment ?? null,
    decidedAt: decision.at,
  };
}

/** Whether `uid` may decide on a step with this config. */
export function mayDecide(config: HumanConfig, uid: string): boolean {
  return config.approvers === undefined || config.approvers.includes(uid);
}

export const humanAgent = defineAgent<HumanConfig>({
  kind: 'human',
  description: 'Waits for a person to approve or reject, showing a prompt filled from the inputs.',
  config: HumanConfigSchema,
  async run({ config, inputs, ctx }) {
    const prompt = renderPrompt(config.prompt, inputs);
    if (config.timeoutSeconds === undefined) return { status: 'waiting', reason: 'human', prompt };
    return {
      status: 'waiting',
      reason: 'human',
      prompt,
      until: ctx.clock.now() + config.timeoutSeconds * 1000,
    };
  },
});

/**
 * Fills `{{name.path}}` from the inputs: strings as they are, other values as
 * JSON, a missing field as nothing. A name that is not an input is a config
 * error: the step does not declare what its prompt shows.
 */
export function renderPrompt(template: string, inputs: Record<string, unknown>): string {
  const text = renderTemplate(template, inputs, { what: 'human: the prompt' });
  return text.length > MAX_PROMPT ? `${text.slice(0, MAX_PROMPT - 1)}…` : text;
}
