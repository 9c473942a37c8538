/**
 * An expression worker: evaluates one job at a time and answers with its
 * outcome. The pool terminates it when a job runs past its deadline, so
 * nothing here needs to stop a runaway by itself.
 */
import { parentPort } from 'node:worker_threads';
import { ExpressionRunner } from './language.ts';
import { ExpressionJobSchema, type JobOutcome } from './protocol.ts';

const port = parentPort;
if (!port)
  throw new Error('expressions/worker is a worker thread entry: start it through the ExpressionPool');

const runner = new ExpressionRunner();

port.on('message', (message: unknown) => {
  void answer(message).then((outcome) => port.postMessage(outcome));
});
// Loaded: the pool starts a job's deadline only now.
port.postMessage({ ready: true });

async function answer(message: unknown): Promise<JobOutcome> {
  const job = ExpressionJobSchema.safeParse(message);
  if (!job.success) {
    return { ok: false, index: 0, code: 'bad-job', message: `expression worker: ${job.error.message}` };
  }
  try {
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
