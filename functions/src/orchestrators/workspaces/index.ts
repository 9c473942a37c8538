/** The `workspaces` orchestrator: the caller's workspaces, creating one, and managing its members and roles. */
import { defineOrchestrator } from '../../platform/orchestrator.js';
import { workspaceRoutes } from './routes.js';

export default defineOrchestrator({
  name: 'workspaces',
  description: 'Workspaces, their members and roles',
  routes: workspaceRoutes,
});
