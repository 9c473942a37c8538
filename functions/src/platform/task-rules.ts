/** The rules every task queue adapter applies before it accepts a task, so both runtimes refuse the same tasks. */
import { InvalidInputError, PayloadTooLargeError } from './errors.js';
import { MAX_TASK_PAYLOAD_BYTES } from './ports.js';

/** Cloud Tasks' task-name alphabet; the embedded queue keeps to it so ids move between runtimes. */
const TASK_ID = /^[A-Za-z0-9_-]{1,500}$/;

/** Checks a task's id and payload; returns the payload as the JSON that will be stored or sent. */
export function encodeTask(id: string, payload: unknown): string {
  if (!TASK_ID.test(id)) {
    throw new InvalidInputError(`Task id "${id}" must be 1-500 letters, digits, '-' or '_'`, [
      { path: 'id', message: 'invalid task id' },
    ]);
  }
  const json = JSON.stringify(payload ?? null);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_TASK_PAYLOAD_BYTES) {
    throw new PayloadTooLargeError(
      `Task payload is ${bytes} bytes; the limit is ${MAX_TASK_PAYLOAD_BYTES}. Pass a reference.`,
    );
  }
  return json;
}
