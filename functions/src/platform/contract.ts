/**
 * A route's contract: everything about it but its handler. Contracts import
 * only zod and schema modules, so the typed API client (`client/`) and Mission
 * Control build on them without loading server code; `implement` in
 * orchestrator.ts joins a contract to its handler.
 */
import type { z } from 'zod';
import type { ClientProblemStatus } from './errors.js';
import type { RouteAccess } from './identity.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteContract {
  method: HttpMethod;
  /** Relative to `/api/<orchestrator>`; `:name` segments are parameters. A `:workspace` segment is access-checked. */
  path: string;
  summary: string;
  description?: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response: z.ZodType;
  /** Success status. @default 200 */
  status?: number;
  /**
   * Who may call it, checked by the front door before anything is parsed:
   * `public`, `signed-in`, `platform-admin`, or the least role in the route's
   * `:workspace` (a route with `:workspace` must name a role, and only such a route may).
   */
  access: RouteAccess;
  /**
   * 4xx statuses the handler (or what it calls) can throw beyond those the
   * declaration implies (400 for schemas, 401, 403, 404 for path parameters,
   * 413 for a body): e.g. 409 for a state conflict, 429 for admission.
   * Published in the OpenAPI document.
   * @example problems: [409]
   */
  problems?: readonly ClientProblemStatus[];
}

/** The routes of one orchestrator by name, e.g. `executions.list`. */
export type ContractGroup = Readonly<Record<string, RouteContract>>;

/** What a handler receives (or a client sends) for an optional schema: its output, or undefined. */
export type OutputOf<S> = S extends z.ZodType ? z.output<S> : undefined;
export type InputOf<S> = S extends z.ZodType ? z.input<S> : undefined;

/** Declares a contract keeping its schemas' exact types, so handlers and the client infer from them. */
export function defineContract<const C extends RouteContract>(contract: C): C {
  return contract;
}
