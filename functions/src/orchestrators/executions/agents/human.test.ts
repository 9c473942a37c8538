import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../platform/errors.js';
import { configIssues, runAgent, T0 } from '../../../test-support/agent-call.js';
import {
  decisionOutput,
  HumanConfigSchema,
  HumanDecisionSchema,
  humanAgent,
  mayDecide,
  renderPrompt,
} from './human.js';

const claim = { id: 'C-17', amount: 1250.5, holder: { name: 'Ada' }, tags: ['water', 'urgent'], note: null };

describe('human agent', () => {
  it.each([
    ['plain text', 'Approve?', 'Approve?'],
    ['a string field', 'Approve claim {{claim.id}}?', 'Approve claim C-17?'],
    ['a number and a nested field', '{{claim.holder.name}} asks {{ claim.amount }}', 'Ada asks 1250.5'],
    ['a whole object as JSON', 'Tags: {{claim.tags}}', 'Tags: ["water","urgent"]'],
    ['a missing field as nothing', '[{{claim.missing.deeper}}][{{claim.note}}]', '[][]'],
    ['an input by its name', 'Reviewer: {{reviewer}}', 'Reviewer: Bob'],
    [
      'no expressions: braces around code stay text',
      'Total {{ $sum(claim.amount) }}',
      'Total {{ $sum(claim.amount) }}',
    ],
    ['no prototype walk', '{{claim.constructor}}|{{claim.__proto__}}', '|'],
  ])('renders %s', (_name, template, expected) => {
    expect(renderPrompt(template, { claim, reviewer: 'Bob' })).toBe(expected);
  });

  it('fails permanently when the prompt names an input the step does not declare', () => {
    expect(() => renderPrompt('Approve {{policy.id}}', { claim })).toThrow(PermanentError);
    expect(() => renderPrompt('Approve {{policy.id}}', { claim })).toThrow(
      "human: the prompt uses {{policy}}, which is not one of the step's inputs",
    );
  });

  it.each([
    [
      'no timeout',
      { prompt: 'Pay {{claim.id}}?' },
      { status: 'waiting', reason: 'human', prompt: 'Pay C-17?' },
    ],
    [
      'a timeout, as the instant it lapses',
      { prompt: 'Pay?', approvers: ['u1'], timeoutSeconds: 3600 },
      { status: 'waiting', reason: 'human', prompt: 'Pay?', until: T0 + 3600_000 },
    ],
  ])('waits for a decision with %s', async (_name, config, result) => {
    expect(await runAgent(humanAgent, config, { claim })).toEqual(result);
  });

  it.each([
    [
      'an approval with a comment',
      { decision: 'approved', by: 'u1', comment: 'ok', at: T0 + 5 },
      { decision: 'approved', by: 'u1', comment: 'ok', decidedAt: T0 + 5 },
    ],
    [
      'a rejection without one',
      { decision: 'rejected', by: 'u2', at: T0 },
      { decision: 'rejected', by: 'u2', comment: null, decidedAt: T0 },
    ],
  ])('gives the step output for %s', (_name, raw, output) => {
    expect(decisionOutput(HumanDecisionSchema.parse(raw))).toEqual(output);
  });

  it.each([
    ['an unknown decision', { decision: 'maybe', by: 'u1', at: T0 }, 'decision'],
    ['no decider', { decision: 'approved', by: '', at: T0 }, 'by'],
    ['no time', { decision: 'approved', by: 'u1' }, 'at'],
    ['an unknown field', { decision: 'approved', by: 'u1', at: T0, extra: 1 }, ''],
  ])('refuses a decision with %s', (_name, raw, path) => {
    const issues = HumanDecisionSchema.safeParse(raw).error?.issues ?? [];
    expect(issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it.each([
    ['anyone, without approvers', { prompt: 'x' }, 'u9', true],
    ['a listed approver', { prompt: 'x', approvers: ['u1', 'u2'] }, 'u2', true],
    ['nobody else', { prompt: 'x', approvers: ['u1', 'u2'] }, 'u9', false],
  ])('lets %s decide', (_name, config, uid, allowed) => {
    expect(mayDecide(HumanConfigSchema.parse(config), uid)).toBe(allowed);
  });

  it.each([
    ['no prompt', {}, 'prompt', 'expected string'],
    ['an empty approver list', { prompt: 'x', approvers: [] }, 'approvers', 'Too small'],
    ['a zero timeout', { prompt: 'x', timeoutSeconds: 0 }, 'timeoutSeconds', 'Too small'],
  ])('rejects a config with %s', (_name, config, path, message) => {
    expect(configIssues(humanAgent, config)).toContainEqual({
      path,
      message: expect.stringContaining(message),
    });
  });
});
