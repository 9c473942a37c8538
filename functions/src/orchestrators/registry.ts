/** Every orchestrator Seraphim runs. Add a capability here and both runtimes pick it up. */
import type { Orchestrator } from '../platform/orchestrator.js';
import executions from './executions/index.js';
import pool from './pool/index.js';
import system from './system/index.js';
import useCases from './use-cases/index.js';
import workspaces from './workspaces/index.js';

export const orchestrators: readonly Orchestrator[] = [system, workspaces, useCases, executions, pool];
