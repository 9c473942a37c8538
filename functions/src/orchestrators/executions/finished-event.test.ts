/**
 * What an execution's end announces (`execution.finished`) is published after
 * the decision that ended it is committed. A publish that fails then must not
 * turn the settled step into a failure (issue 8, item 1).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError } from '../../platform/errors.js';
import { MemorySink } from '../../platform/logger.js';
import { startTestRuntime, type TestRuntime } from '../../test-support/embedded.js';
import { UseCaseBodySchema } from '../use-cases/model.js';
import { saveUseCase } from '../use-cases/store.js';
import executions, { engine } from './index.js';
import { FINISHED_TOPIC, stepQueue } from './queues.js';
import { getExecution } from './store.js';

describe('the execution.finished event', () => {
  let t: TestRuntime | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  it('defect: a publish that failed after the commit dead-lettered the step that finished the execution', async () => {
    const logs = new MemorySink();
    t = await startTestRuntime([executions], { logs });
    // As Pub/Sub answered before topics were created on first use: NOT_FOUND, a permanent error.
    const publish = t.runtime.bus.publish.bind(t.runtime.bus);
    t.runtime.bus.publish = async (topic, data, opts) => {
      if (topic === FINISHED_TOPIC) throw new PermanentError(`Publish to ${topic} failed: NOT_FOUND`);
      return publish(topic, data, opts);
    };
    const ctx = { ...t.runtime.ports, correlationId: 'test' };
    await ctx.documents.create('workspaces/ws', {});
    const body = UseCaseBodySchema.parse({
      id: 'one',
      name: 'one',
      vertical: 'test',
      workflow: {
        steps: [
          {
            id: 's',
            agent: 'transform',
            inputs: { v: 'input.v' },
            output: 'o',
            config: { expression: 'v + 1' },
          },
        ],
      },
    });
    const { useCase } = await saveUseCase(ctx.documents, 'ws', body, Date.now());
    const started = await engine.start(ctx, 'ws', useCase, { v: 1 });
    await t.runtime.whenIdle();
    expect((await getExecution(ctx.documents, 'ws', started.id)).data.status).toBe('succeeded');
    expect((await t.runtime.queue.stats(stepQueue('normal'))).deadLettered).toBe(0);
    expect(logs.entries.filter((e) => e.message === 'Task dead-lettered')).toEqual([]);
    expect(logs.entries).toContainEqual(
      expect.objectContaining({
        severity: 'ERROR',
        message: 'The execution finished, but announcing it failed',
        executionId: started.id,
      }),
    );
  });
});
