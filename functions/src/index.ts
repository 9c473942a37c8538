/**
 * The Cloud Functions surface: one function group per orchestrator in the
 * registry (orchestrators/registry.ts), deployed as `<orchestrator>-api`,
 * `<orchestrator>-<task>` and so on.
 *
 * Every function instance imports this file, so it imports no orchestrator
 * itself. On Cloud Functions (and in each emulator worker) `FUNCTION_TARGET`
 * names the function being served, e.g. `system.api`: only that function's
 * group loads its orchestrator, and every other group is an empty object.
 * Without `FUNCTION_TARGET` (deploy-time discovery, the emulator's loader)
 * every group is built. Reading the environment at import time is deliberate
 * here: which code to load is decided before any handler runs.
 *
 * Orchestrators are loaded with `require()`, which loads ES modules
 * synchronously on Node 22, rather than with a top-level `await import()`:
 * the emulator's function workers `require()` this file, and Node refuses
 * that for a module graph with top-level await.
 *
 * Add a group here when you add an orchestrator to the registry; the
 * emulator test checks that every orchestrator's functions are discovered.
 */
import { createRequire } from 'node:module';
import { cloudGroup } from './runtimes/firebase/functions.js';

const load = createRequire(import.meta.url);

export const system = cloudGroup('system', () => load('./orchestrators/system/index.js'));
export const executions = cloudGroup('executions', () => load('./orchestrators/executions/index.js'));
export const useCases = cloudGroup('useCases', () => load('./orchestrators/use-cases/index.js'));
export const pool = cloudGroup('pool', () => load('./orchestrators/pool/index.js'));
export const workspaces = cloudGroup('workspaces', () => load('./orchestrators/workspaces/index.js'));
