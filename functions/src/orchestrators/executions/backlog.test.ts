/**
 * A backlog drains depth-first: among due steps, the queue takes those of the
 * executions that started first (EnqueueOptions.order), so executions already
 * under way finish before newer ones start, and completions flow from the
 * start instead of after the whole backlog's first steps.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock } from '../../platform/clock.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import { EmbeddedRuntime } from '../../runtimes/embedded/runtime.js';
import { UseCaseBodySchema } from '../use-cases/model.js';
import { saveUseCase } from '../use-cases/store.js';
import { builtinAgents, createAgentRegistry } from './agents/registry.js';
import { defineAgent } from './agents/types.js';
import { ExecutionEngine } from './engine.js';
import { createExecutionsOrchestrator } from './index.js';

const EXECUTIONS = 20;
const STEPS = 3;

describe('a backlog', () => {
  it('defect (issue 9, item 3): work ran breadth-first, so no execution finished until every first step had run', async () => {
    const ran: string[] = [];
    const mark = defineAgent({
      kind: 'mark',
      description: 'records which execution and step ran',
      config: z.object({}),
      async run({ execution, step }) {
        ran.push(`${execution.id}/${step.id}`);
        return { status: 'succeeded', output: null };
      },
    });
    const engine = new ExecutionEngine(createAgentRegistry([...builtinAgents, mark]));
    const declared = createExecutionsOrchestrator(engine);
    const stepNormal = declared.tasks.stepNormal;
    if (!stepNormal) throw new Error('the executions orchestrator has no stepNormal queue');
    const clock = new ManualClock(Date.UTC(2026, 11, 4));
    const runtime = new EmbeddedRuntime({
      // One step at a time, so the order of the queue is the order of the runs.
      orchestrators: [
        {
          ...declared,
          schedules: {},
          tasks: {
            ...declared.tasks,
            stepNormal: {
              ...stepNormal,
              rateLimits: { maxConcurrentDispatches: 1, maxDispatchesPerSecond: 1e9 },
            },
          },
        },
      ],
      // The queue at the limits its task declares (the machine's defaults would run more at once).
      env: { SERAPHIM_QUEUE_CONCURRENCY: 'declared', SERAPHIM_QUEUE_RATE: 'declared' },
      dataDir: ':memory:',
      clock,
      logger: createLogger({ sink: new MemorySink() }),
      version: 'test',
    });
    try {
      const ctx = { ...runtime.ports, correlationId: 'backlog' };
      const body = UseCaseBodySchema.parse({
        id: 'chain',
        name: 'chain',
        vertical: 'test',
        workflow: {
          steps: Array.from({ length: STEPS }, (_, i) => ({
            id: `s${i}`,
            agent: 'mark',
            output: `o${i}`,
            ...(i > 0 ? { after: [`s${i - 1}`] } : {}),
          })),
        },
      });
      const { useCase } = await saveUseCase(ctx.documents, 'ws', body, clock.now());
      // The backlog: every execution started before the queue runs, each a millisecond after the last.
      const ids: string[] = [];
      for (let i = 0; i < EXECUTIONS; i++) {
        ids.push((await engine.start(ctx, 'ws', useCase, {})).id);
        clock.advance(1);
      }
      runtime.start();
      await runtime.whenIdle();
      expect(ran).toHaveLength(EXECUTIONS * STEPS);
      // Depth-first: each execution's steps run one after another, in the order the executions started.
      expect(ran).toEqual(ids.flatMap((id) => Array.from({ length: STEPS }, (_, s) => `${id}/s${s}`)));
    } finally {
      await runtime.stop();
    }
  });
});
