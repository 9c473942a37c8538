/**
 * A step's output contract and its cache key: what a result must be before
 * the execution takes it, and what makes two calls the same call.
 */
import { createHash } from 'node:crypto';
import { firestoreProblems } from '../../platform/document-rules.js';
import { InvalidInputError, PayloadTooLargeError, PermanentError } from '../../platform/errors.js';
import type { SchemaCheck } from './expressions/protocol.js';

/** The largest execution input: it is kept in the execution's document. Bigger: pass a reference. */
export const MAX_VALUE_BYTES = 256 * 1024;
/** The largest step output. Big ones are kept by reference in the blob port (values.ts), not in documents. */
export const MAX_OUTPUT_BYTES = 8 * 1024 * 1024;

export function byteSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null));
}

/**
 * The contract: output within the size limit, storable, and matching the
 * step's declared JSON Schema. The schema's patterns are user regular
 * expressions (zod compiles them to backtracking RegExps), so the schema is
 * checked by `checkSchema`, in an expression worker under the step's deadline.
 */
export async function checkOutput(
  stepId: string,
  schema: Record<string, unknown> | undefined,
  output: unknown,
  checkSchema: (schema: Record<string, unknown>, value: unknown) => Promise<SchemaCheck>,
): Promise<void> {
  const size = byteSize(output);
  if (size > MAX_OUTPUT_BYTES) {
    throw new PermanentError(`Output of step ${stepId} is ${size} bytes; the limit is ${MAX_OUTPUT_BYTES}.`, {
      details: { contract: 'size' },
    });
  }
  const unstorable = firestoreProblems(output);
  if (unstorable.length > 0) {
    throw new PermanentError(`Output of step ${stepId} cannot be stored: ${listProblems(unstorable)}`, {
      details: { contract: 'storable' },
    });
  }
  if (!schema) return;
  const checked = await checkSchema(schema, output);
  if (!checked.valid) {
    const problems = checked.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new PermanentError(
      `Contract violated: output of step ${stepId} does not match its schema: ${problems}`,
      {
        details: { contract: 'schema' },
      },
    );
  }
}

/** Cache keys: per workspace, agent kind and config, and the values of the inputs the policy names. */
export function cacheKeyOf(
  workspace: string,
  agent: string,
  config: unknown,
  keyInputs: string[],
  inputs: Record<string, unknown>,
): string {
  const material = JSON.stringify([agent, config, keyInputs.map((name) => inputs[name] ?? null)]);
  return `cache:${workspace}:${createHash('sha256').update(material).digest('base64url')}`;
}

/** An execution's input, checked at the door: within the size limit and storable on both runtimes. */
export function checkInput(input: unknown): void {
  const size = byteSize(input);
  if (size > MAX_VALUE_BYTES) {
    throw new PayloadTooLargeError(
      `Execution input is ${size} bytes; the limit is ${MAX_VALUE_BYTES}. Pass a reference.`,
    );
  }
  const unstorable = firestoreProblems(input);
  if (unstorable.length > 0) {
    throw new InvalidInputError(
      `Execution input cannot be stored: ${listProblems(unstorable)}`,
      unstorable.map((p) => ({ path: `body.input${p.pointer.replaceAll('/', '.')}`, message: p.message })),
    );
  }
}

/** `"/a/0: an array directly inside an array; …"`: what Firestore would refuse, for a message. */
function listProblems(problems: ReadonlyArray<{ pointer: string; message: string }>): string {
  return problems.map((p) => `${p.pointer || '(root)'}: ${p.message}`).join('; ');
}
