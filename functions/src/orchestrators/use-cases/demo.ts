/**
 * The demo `npm start` seeds beside claims triage: one use case installed
 * from each complete built-in template, with its defaults, and one run of
 * each of its samples. A use case the workspace already has is left alone:
 * a restart never overwrites a user's changes.
 */
import type { Context } from '../../platform/orchestrator.js';
import type { ExecutionEngine } from '../executions/engine.js';
import { BUILTIN_TEMPLATES } from './library/index.js';
import { findUseCase, saveUseCase } from './store.js';
import { resolveInLibrary } from './templates/catalog.js';
import { instantiate } from './templates/resolve.js';

export async function seedTemplateDemo(
  ctx: Context,
  engine: ExecutionEngine,
  workspace: string,
): Promise<{ installed: string[] }> {
  const installed: string[] = [];
  for (const template of BUILTIN_TEMPLATES) {
    if (template.metadata.abstract) continue;
    const id = template.metadata.id;
    if (await findUseCase(ctx.documents, workspace, id)) continue;
    const resolved = await resolveInLibrary(ctx.documents, workspace, template);
    const body = instantiate(resolved, { id, values: {} }, engine.agents);
    const { useCase } = await saveUseCase(ctx.documents, workspace, body, ctx.clock.now(), {
      note: `Installed from ${id} ${template.metadata.version} by the demo`,
    });
    for (const sample of resolved.samples) await engine.start(ctx, workspace, useCase, sample.input);
    installed.push(id);
  }
  return { installed };
}
