/**
 * The whole HTTP API's contract, by orchestrator: each key is the orchestrator
 * whose routes live under `/api/<key>`. The typed client is built from it.
 */
import { executionsApi } from './executions/api.js';
import { poolApi } from './pool/api.js';
import { systemApi } from './system/api.js';
import { useCasesApi } from './use-cases/api.js';
import { workspacesApi } from './workspaces/api.js';

export const apiContract = {
  system: systemApi,
  workspaces: workspacesApi,
  useCases: useCasesApi,
  executions: executionsApi,
  pool: poolApi,
};
export type ApiContract = typeof apiContract;
