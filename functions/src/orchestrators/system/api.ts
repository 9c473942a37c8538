/**
 * The system API's contract: health, runtime info, pings, traces, signing in
 * and the platform's people. Imports only zod and schema modules.
 */
import { z } from 'zod';
import { defineContract } from '../../platform/contract.js';
import {
  AddedUserSchema,
  AddUserBodySchema,
  HealthSchema,
  InfoSchema,
  PingParamsSchema,
  PingSchema,
  QueuesSchema,
  RedeemLinkBodySchema,
  RemovedSchema,
  SessionSchema,
  SignedOutSchema,
  SignInBodySchema,
  TraceParamsSchema,
  TraceSchema,
  UserParamsSchema,
  UsersSchema,
} from './model.js';

export const systemApi = {
  health: defineContract({
    method: 'GET',
    path: '/health',
    summary: 'Runtime health: documents, kv and task queue reachability',
    access: 'public',
    response: HealthSchema,
  }),
  info: defineContract({
    method: 'GET',
    path: '/info',
    access: 'signed-in',
    summary: 'Runtime, version and the orchestrators this deployment runs',
    response: InfoSchema,
  }),
  queues: defineContract({
    method: 'GET',
    path: '/queues',
    access: 'signed-in',
    summary: 'Depth, in-flight, oldest age and dead letters of every task queue',
    response: QueuesSchema,
  }),
  sendPing: defineContract({
    method: 'POST',
    path: '/pings',
    access: 'platform-admin',
    summary: 'Round trip through the event bus and the task queue; poll the ping to see both arrive',
    status: 202,
    body: z.object({}).strict().optional(),
    response: PingSchema,
  }),
  getPing: defineContract({
    method: 'GET',
    path: '/pings/:id',
    access: 'platform-admin',
    summary: 'A ping and where it has arrived',
    params: PingParamsSchema,
    response: PingSchema,
  }),
  trace: defineContract({
    method: 'GET',
    path: '/traces/:traceId',
    // A trace names workspaces, executions and steps of any tenant: the platform's admins only.
    access: 'platform-admin',
    summary: 'One trace as this runtime recorded it: spans with parents, times, attributes and status',
    description:
      'The embedded runtime keeps recent spans in its database. On Firebase the spans are in Cloud Trace, and this answers 404.',
    params: TraceParamsSchema,
    response: TraceSchema,
  }),
  session: defineContract({
    method: 'GET',
    path: '/session',
    access: 'public',
    summary: 'How this runtime signs people in, and who you are',
    response: SessionSchema,
  }),
  signIn: defineContract({
    method: 'POST',
    path: '/session',
    access: 'public',
    summary: 'Sign in with email and password (embedded runtime); sets the session cookie',
    description:
      'An unknown email and a wrong password get the same 401; past 10 failures for an email in 15 minutes, 429 with Retry-After.',
    body: SignInBodySchema,
    response: SessionSchema,
  }),
  redeemLink: defineContract({
    method: 'POST',
    path: '/session/link',
    access: 'public',
    summary: 'Redeem a one-time owner link or invitation, choosing a password on first use; signs in',
    body: RedeemLinkBodySchema,
    response: SessionSchema,
  }),
  signOut: defineContract({
    method: 'DELETE',
    path: '/session',
    access: 'signed-in',
    summary: 'Sign out: ends this session and clears its cookie',
    response: SignedOutSchema,
  }),
  users: defineContract({
    method: 'GET',
    path: '/users',
    access: 'platform-admin',
    summary: 'Everyone who can sign in to this deployment',
    response: UsersSchema,
  }),
  addUser: defineContract({
    method: 'POST',
    path: '/users',
    access: 'platform-admin',
    summary: 'Add a person by email; answers a one-time invitation link when they need one',
    body: AddUserBodySchema,
    status: 201,
    response: AddedUserSchema,
  }),
  removeUser: defineContract({
    method: 'DELETE',
    path: '/users/:uid',
    access: 'platform-admin',
    summary: 'Remove a person and their memberships',
    params: UserParamsSchema,
    response: RemovedSchema,
  }),
};
