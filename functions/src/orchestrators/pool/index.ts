/**
 * The `pool` orchestrator: the Resource Pool Manager's API. The pool itself
 * (limits, fair shares, admission, AIMD) is a platform library
 * (platform/pool/store.ts), which the flow-control wrapper applies to every
 * task that declares flow control.
 */
import { defineOrchestrator } from '../../platform/orchestrator.js';
import { poolRoutes } from './routes.js';

export default defineOrchestrator({
  name: 'pool',
  description: 'Resource pool: concurrency limits, weighted fair sharing, admission and monitoring',
  routes: poolRoutes(),
});
