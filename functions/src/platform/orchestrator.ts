/**
 * defineOrchestrator: one capability as plain data plus handlers. Nothing here
 * imports Firebase; the runtimes turn a definition into Cloud Functions or
 * into an in-process server, queue, bus and timer.
 */
import type { z } from 'zod';
import type { HttpMethod, OutputOf, RouteContract } from './contract.js';
import type { RateLimits, RetryPolicy } from './delivery.js';
import type { ClientProblemStatus } from './errors.js';
import { type FlowControlDeclaration, flowControlProblems } from './flow-declaration.js';
import { type Identity, isRole, ROUTE_ACCESS, type RouteAccess, type WorkspaceAccess } from './identity.js';
import type { DocumentChange, EventEnvelope, OrchestratorSummary, Ports, TaskInfo } from './ports.js';
import { PRIORITY_CLASSES, type PriorityClass } from './priority.js';

/** What every handler receives: the ports, plus a logger bound to the work at hand. */
export interface Context extends Ports {
  /** Carried through logs, events and tasks started by this piece of work. */
  correlationId: string;
}

// ---------------------------------------------------------------- routes

export type { HttpMethod } from './contract.js';

/**
 * How a handler sets or clears a cookie without touching headers. The front
 * door writes it HttpOnly, SameSite=Strict, Path=/ (Secure over https).
 */
export interface Reply {
  setCookie(name: string, value: string, opts: { maxAgeSeconds: number }): void;
  clearCookie(name: string): void;
}

export interface RouteRequest<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The checked caller; null only on a public route called without a credential. */
  identity: Identity | null;
  /** On a workspace route: the workspace and the caller's role in it. */
  access: WorkspaceAccess | null;
  reply: Reply;
  requestId: string;
}

export interface RouteDefinition<P = unknown, Q = unknown, B = unknown, R = unknown> {
  method: HttpMethod;
  /** Relative to `/api/<orchestrator>`; `:name` segments are parameters. A `:workspace` segment is access-checked. */
  path: string;
  summary: string;
  description?: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  response: z.ZodType<R>;
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
  handler(request: RouteRequest<P, Q, B>, ctx: Context): Promise<R>;
}

/** Declares a route with its types inferred from its schemas. */
export function defineRoute<P = undefined, Q = undefined, B = undefined, R = unknown>(
  route: RouteDefinition<P, Q, B, R>,
): RouteDefinition<P, Q, B, R> {
  return route;
}

/** The route that serves `contract` with `handler`: the contract (client-safe) and its server half meet here. */
export function implement<C extends RouteContract>(
  contract: C,
  handler: (
    request: RouteRequest<OutputOf<C['params']>, OutputOf<C['query']>, OutputOf<C['body']>>,
    ctx: Context,
  ) => Promise<z.output<C['response']>>,
): RouteDefinition<
  OutputOf<C['params']>,
  OutputOf<C['query']>,
  OutputOf<C['body']>,
  z.output<C['response']>
> {
  // The contract's schemas are exactly typed (C), but TypeScript cannot see that C['params'] is a
  // z.ZodType of OutputOf<C['params']> inside the generic: the types are the same by construction.
  return { ...contract, handler } as RouteDefinition<
    OutputOf<C['params']>,
    OutputOf<C['query']>,
    OutputOf<C['body']>,
    z.output<C['response']>
  >;
}

// ---------------------------------------------------------------- triggers

export interface TaskDefinition<P = unknown> {
  payload: z.ZodType<P>;
  retry?: RetryPolicy;
  rateLimits?: RateLimits;
  /** How long one attempt may hold its lease before another worker may take it. @default 60 */
  timeoutSeconds?: number;
  /**
   * The queue's priority class (set by {@link tasksPerPriority}). Where the
   * runtime can order work across queues, as when it wakes deferred tasks,
   * higher classes go first. @default 'normal'
   */
  priority?: PriorityClass;
  /**
   * How its tasks share capacity: keyed concurrency limits, fairness, adaptive
   * limits (flow-declaration.ts). The runtime's one wrapper honours it
   * (flow-control.ts): the handler runs holding a slot in every dimension, and
   * reports what the upstream did through `task.reportUpstream`.
   */
  flowControl?: FlowControlDeclaration;
  handler(payload: P, ctx: Context, task: TaskInfo): Promise<void>;
}

export function defineTask<P>(task: TaskDefinition<P>): TaskDefinition<P> {
  return task;
}

export { PRIORITY_CLASSES, type PriorityClass } from './priority.js';

/**
 * One task handler drained through a queue per priority class: `step` becomes
 * `stepHigh`, `stepNormal`, `stepLow` and `stepBatch`, each its own Cloud Tasks
 * queue (or embedded queue) with its own limits, so batch work can never take
 * the dispatch rate that high-priority work needs.
 *
 * @example
 * tasks: { ...tasksPerPriority('step', stepTask, { high: { maxConcurrentDispatches: 20 }, batch: { maxDispatchesPerSecond: 5 } }) }
 */
export function tasksPerPriority<P>(
  key: string,
  task: TaskDefinition<P>,
  limits: Partial<Record<PriorityClass, RateLimits>> = {},
): Record<string, TaskDefinition<P>> {
  return Object.fromEntries(
    PRIORITY_CLASSES.map((priority) => [
      priorityQueueKey(key, priority),
      { ...task, priority, rateLimits: { ...task.rateLimits, ...limits[priority] } },
    ]),
  );
}

/** The task key of `key`'s queue for one priority class, e.g. `stepHigh`. */
export function priorityQueueKey(key: string, priority: PriorityClass): string {
  return `${key}${priority[0]?.toUpperCase()}${priority.slice(1)}`;
}

export interface EventSubscription<T = unknown> {
  topic: string;
  data: z.ZodType<T>;
  retry?: RetryPolicy;
  handler(event: EventEnvelope<T>, ctx: Context): Promise<void>;
}

export function defineSubscription<T>(subscription: EventSubscription<T>): EventSubscription<T> {
  return subscription;
}

export interface DocumentTrigger {
  /** Document path pattern with `{wildcards}`, e.g. `workspaces/{workspace}/runs/{run}`. */
  document: string;
  retry?: RetryPolicy;
  handler(change: DocumentChange, ctx: Context): Promise<void>;
}

export interface ScheduleDefinition {
  /** Five-field unix cron, understood by both Cloud Scheduler and the embedded timer. */
  cron: string;
  /** @default 'UTC' */
  timeZone?: string;
  handler(ctx: Context, run: { scheduledTime: number }): Promise<void>;
}

// ---------------------------------------------------------------- orchestrator

export interface OrchestratorDefinition {
  /** Lower camel case; becomes the Cloud Functions group and the `/api/<name>` prefix. */
  name: string;
  description?: string;
  routes?: RouteDefinition[];
  documents?: Record<string, DocumentTrigger>;
  events?: Record<string, EventSubscription>;
  tasks?: Record<string, TaskDefinition>;
  schedules?: Record<string, ScheduleDefinition>;
  /**
   * Schemas the API document names beside those its routes take and answer: what a route holds as
   * open data and checks later (each agent kind's step `config`, referenced by the step's schema).
   * Each needs a `.meta({ id })`.
   */
  apiSchemas?: z.ZodType[];
}

export type Orchestrator = Readonly<Required<OrchestratorDefinition>>;

const NAME = /^[a-z][a-zA-Z0-9]{0,40}$/;

/** Validates and freezes a definition. Throws at definition time, so a bad one never deploys. */
export function defineOrchestrator(def: OrchestratorDefinition): Orchestrator {
  const problems: string[] = [];
  if (!NAME.test(def.name)) problems.push(`name "${def.name}" must be lower camel case (${NAME})`);
  const seen = new Set<string>(['api']);
  for (const kind of ['documents', 'events', 'tasks', 'schedules'] as const) {
    for (const key of Object.keys(def[kind] ?? {})) {
      if (!NAME.test(key)) problems.push(`${kind}.${key}: name must be lower camel case (${NAME})`);
      if (seen.has(key)) problems.push(`${kind}.${key}: name is already used in this orchestrator`);
      seen.add(key);
    }
  }
  const routes = new Set<string>();
  for (const route of def.routes ?? []) {
    if (!route.path.startsWith('/'))
      problems.push(`route ${route.method} ${route.path}: path must start with /`);
    const where = `route ${route.method} ${route.path}`;
    const access: unknown = route.access;
    const scoped = route.path.split('/').includes(':workspace');
    if (!ROUTE_ACCESS.includes(access as RouteAccess))
      problems.push(`${where}: access must be one of ${ROUTE_ACCESS.join(', ')}`);
    else if (scoped && !isRole(route.access))
      problems.push(`${where}: a :workspace route must declare a role as its access`);
    else if (!scoped && isRole(route.access))
      problems.push(`${where}: access "${route.access}" is a workspace role, but the path has no :workspace`);
    const key = `${route.method} ${route.path.replace(/:[^/]+/g, ':')}`;
    if (routes.has(key)) problems.push(`route ${route.method} ${route.path}: declared twice`);
    routes.add(key);
  }
  for (const [key, task] of Object.entries(def.tasks ?? {})) {
    if (task.flowControl === undefined) continue;
    for (const problem of flowControlProblems(task.flowControl, task.payload))
      problems.push(`tasks.${key}.flowControl: ${problem}`);
  }
  for (const [key, sub] of Object.entries(def.events ?? {})) {
    if (!/^[a-zA-Z][a-zA-Z0-9._-]{2,200}$/.test(sub.topic))
      problems.push(`events.${key}: bad topic "${sub.topic}"`);
  }
  for (const [key, trigger] of Object.entries(def.documents ?? {})) {
    const segments = trigger.document.split('/');
    if (segments.length % 2 !== 0 || segments.some((s) => s === '')) {
      problems.push(
        `documents.${key}: "${trigger.document}" must name a document (an even number of segments)`,
      );
    }
  }
  if (problems.length > 0)
    throw new Error(`Invalid orchestrator "${def.name}":\n  - ${problems.join('\n  - ')}`);
  return Object.freeze({
    name: def.name,
    description: def.description ?? '',
    routes: def.routes ?? [],
    documents: def.documents ?? {},
    events: def.events ?? {},
    tasks: def.tasks ?? {},
    schedules: def.schedules ?? {},
    apiSchemas: def.apiSchemas ?? [],
  });
}

/** An orchestrator as plain data: what it serves and what it reacts to. */
export function summarize(o: Orchestrator): OrchestratorSummary {
  return {
    name: o.name,
    description: o.description,
    routes: o.routes.map((r) => `${r.method} /api/${o.name}${r.path === '/' ? '' : r.path}`),
    tasks: Object.keys(o.tasks),
    events: Object.entries(o.events).map(([k, e]) => `${k} ← ${e.topic}`),
    documents: Object.entries(o.documents).map(([k, d]) => `${k} ← ${d.document}`),
    schedules: Object.entries(o.schedules).map(([k, sc]) => `${k} @ ${sc.cron}`),
  };
}

/** Cloud Functions name of a trigger: `<orchestrator>-<key>`; also the embedded queue name. */
export function functionName(orchestrator: string, key: string): string {
  return `${orchestrator}-${key}`;
}

/** Matches a path against a `{wildcard}` pattern; returns the captured params or null. */
export function matchDocumentPattern(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const s = path.split('/');
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const want = p[i] as string;
    const got = s[i] as string;
    if (want.startsWith('{') && want.endsWith('}')) params[want.slice(1, -1)] = got;
    else if (want !== got) return null;
  }
  return params;
}
