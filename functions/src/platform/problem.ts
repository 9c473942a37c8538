/** RFC 9457 problem details: the one error body every route returns. */
import { z } from 'zod';
import type { ProblemField } from './errors.js';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int().min(400).max(599).describe('The HTTP status, repeated'),
    code: z.string().describe('Stable machine-readable error code'),
    detail: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    errorId: z.string().optional().describe('Also logged with the failure, for support'),
    retryAfterSeconds: z.number().optional(),
    traceId: z
      .string()
      .optional()
      .describe('The trace of the request that failed: quote it, and it finds every span and log line'),
  })
  .meta({ id: 'Problem' });

export type Problem = z.infer<typeof ProblemSchema>;

export function problem(
  status: number,
  code: string,
  title: string,
  extra: { detail?: string; errors?: ProblemField[]; errorId?: string; retryAfterSeconds?: number } = {},
): Problem {
  return { type: `https://seraphim.dev/problems/${code}`, title, status, code, ...extra };
}

/** Turns zod issues into `{path, message}` pairs, the path prefixed by where the value came from. */
export function zodFields(error: z.ZodError, prefix: string): ProblemField[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));
}
