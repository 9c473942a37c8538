/**
 * Large values go by reference. A step output too big to sit in the
 * execution's documents (over INLINE_VALUE_BYTES, or past what the context
 * may hold inline in all) is written to the blob port once, addressed by its
 * content, and the context holds `{ $blob: { path, bytes, sha256 } }` in its
 * place. Reading a context path loads what it passes through, so a step
 * reads `report.summary` the same whether `report` is inline or not.
 * Without this, outputs adding up past Firestore's 1 MiB would leave an
 * execution unable to commit, and stuck.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConflictError, PermanentError } from '../../platform/errors.js';
import type { Context } from '../../platform/orchestrator.js';
import { byteSize } from './contract.js';

/** A value bigger than this goes to the blob port. */
export const INLINE_VALUE_BYTES = 16 * 1024;
/** What an execution's context may hold inline in all (input included): its documents stay well under 1 MiB. */
export const CONTEXT_INLINE_BUDGET = 512 * 1024;

export const ValueRefSchema = z
  .object({
    $blob: z.object({ path: z.string(), bytes: z.number().int().min(0), sha256: z.string() }),
  })
  .strict();
export type ValueRef = z.infer<typeof ValueRefSchema>;

export function isValueRef(value: unknown): value is ValueRef {
  return ValueRefSchema.safeParse(value).success;
}

/** The execution whose values a reference may name: its own, never another's. */
export interface ValueOwner {
  workspace: string;
  id: string;
}

/**
 * A reference this execution wrote: one under its own values. Anything else
 * shaped like a reference (in an input, or in what an upstream answered) is
 * plain data, so no one can make a step read another execution's values.
 * Blob paths have no `.` segments, so the prefix cannot be escaped.
 */
export function isOwnRef(value: unknown, owner: ValueOwner): value is ValueRef {
  return isValueRef(value) && value.$blob.path.startsWith(valuesPrefix(owner.workspace, owner.id));
}

/** Where an execution's values live; they go when it goes. */
export function valuesPrefix(workspace: string, executionId: string): string {
  return `executions/${workspace}/${executionId}/values/`;
}

/** One value's place: by content, so writing one twice (a retried step) writes it once. */
export function valuePath(workspace: string, executionId: string, sha256: string): string {
  return `${valuesPrefix(workspace, executionId)}${sha256}.json`;
}

/**
 * A fork's own copies of the values it carried over by reference: they live
 * under the fork, so the parent's expiry cannot take them away.
 */
export async function adoptValues(
  ctx: Pick<Context, 'blobs'>,
  fork: ValueOwner,
  parent: ValueOwner,
  values: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const entries = await Promise.all(
    Object.entries(values).map(async ([key, value]) => [
      key,
      isOwnRef(value, parent) ? await storeValue(ctx, fork, await loadValue(ctx, value)) : value,
    ]),
  );
  return Object.fromEntries(entries);
}

/** Stores `value` in the blob port and returns the reference that stands for it. */
export async function storeValue(
  ctx: Pick<Context, 'blobs'>,
  execution: { workspace: string; id: string },
  value: unknown,
): Promise<ValueRef> {
  const json = JSON.stringify(value ?? null);
  const sha256 = createHash('sha256').update(json).digest('hex');
  const path = valuePath(execution.workspace, execution.id, sha256);
  try {
    await ctx.blobs.put(path, json, { contentType: 'application/json', ifAbsent: true });
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error; // there already: the same content
  }
  return { $blob: { path, bytes: Buffer.byteLength(json), sha256 } };
}

/** The value a reference stands for. */
export async function loadValue(ctx: Pick<Context, 'blobs'>, ref: ValueRef): Promise<unknown> {
  const found = await ctx.blobs.get(ref.$blob.path);
  if (!found) throw new PermanentError(`Stored value ${ref.$blob.path} is missing`);
  const chunks: Buffer[] = [];
  for await (const chunk of found.stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

/** Reads a dotted context path (`claim.amount`), loading any reference it passes through; null when absent. */
export async function resolvePath(
  ctx: Pick<Context, 'blobs'>,
  owner: ValueOwner,
  context: Record<string, unknown>,
  path: string,
): Promise<unknown> {
  let value: unknown = context;
  for (const key of path.split('.')) {
    if (isOwnRef(value, owner)) value = await loadValue(ctx, value);
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return null;
    value = (value as Record<string, unknown>)[key];
  }
  return isOwnRef(value, owner) ? loadValue(ctx, value) : (value ?? null);
}

/** A value as it may be kept in documents: itself when small, else a reference to it. */
export async function keepable(
  ctx: Pick<Context, 'blobs'>,
  execution: ValueOwner,
  value: unknown,
  room: number = INLINE_VALUE_BYTES,
): Promise<unknown> {
  if (isOwnRef(value, execution)) return value;
  const size = byteSize(value);
  return size > Math.min(INLINE_VALUE_BYTES, room) ? storeValue(ctx, execution, value) : value;
}

/** Replaces references anywhere at the top of an inputs record by their values (re-runs on recorded inputs). */
export async function resolveRefs(
  ctx: Pick<Context, 'blobs'>,
  owner: ValueOwner,
  inputs: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const entries = await Promise.all(
    Object.entries(inputs).map(
      async ([k, v]) => [k, isOwnRef(v, owner) ? await loadValue(ctx, v) : v] as const,
    ),
  );
  return Object.fromEntries(entries);
}
