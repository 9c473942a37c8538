/**
 * An expression worker: evaluates one job at a time and answers with its
 * outcome. The pool terminates it when a job runs past its deadline, so
 * nothing here needs to stop a runaway by itself.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { ExpressionRunner } from './language.ts';
import { type JobOutcome, WorkerJobSchema } from './protocol.ts';
import { checkAgainstSchema } from './schema-check.ts';

const port = parentPort;
if (!port)
  throw new Error('expressions/worker is a worker thread entry: start it through the ExpressionPool');

const runner = new ExpressionRunner();
yieldToServingThread();

port.on('message', (message: unknown) => {
  void answer(message).then((outcome) => port.postMessage(outcome));
});
// Loaded: the pool starts a job's deadline only now.
port.postMessage({ ready: true });

async function answer(message: unknown): Promise<JobOutcome> {
  const job = WorkerJobSchema.safeParse(message);
  if (!job.success) {
    return { ok: false, index: 0, code: 'bad-job', message: `expression worker: ${job.error.message}` };
  }
  try {
    if (job.data.kind === 'schema')
      return { ok: true, values: [checkAgainstSchema(job.data.schema, job.data.value)] };
    return await runner.run(job.data);
  } catch (error) {
    // A failure of the evaluator itself (e.g. a RangeError), not of an expression's JSONata.
    return {
      ok: false,
      index: 0,
      code: 'internal',
      message: `Expression failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/**
 * A runaway spins a core until its deadline: lower this thread's scheduling
 * priority so that, on a busy machine, the thread serving the API gets the
 * CPU first. Linux gives each thread its own nice value, addressed by its
 * thread id; elsewhere the worker keeps the process's priority.
 */
function yieldToServingThread(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid)) setPriority(tid, 10);
  } catch {
    // not Linux, or not allowed: the deadline still bounds the runaway
  }
}
