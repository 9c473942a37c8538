/**
 * The `pool` orchestrator: the Resource Pool Manager's API. The pool itself
 * (limits, fair shares, admission) acts inside the executions engine; see
 * manager.ts and machine.ts.
 */
import { defineOrchestrator } from '../../platform/orchestrator.js';
import { PoolManager } from './manager.js';
import { poolRoutes } from './routes.js';

export default defineOrchestrator({
  name: 'pool',
  description: 'Resource pool: concurrency limits, weighted fair sharing, admission and monitoring',
  routes: poolRoutes(new PoolManager()),
});
