/**
 * Demo data for `npm start`: the seed in `emulators/seed/` (shared with the
 * Firebase emulators), created only where absent, so a restart never
 * overwrites what the user changed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConflictError } from '../../platform/errors.js';
import type { DocumentStore } from '../../platform/ports.js';
import { REPO_ROOT } from './settings.js';

const SeedSchema = z.object({
  documents: z.array(z.object({ path: z.string(), data: z.record(z.string(), z.unknown()) })),
});

export const DEMO_SEED_FILE = join(REPO_ROOT, 'emulators', 'seed', 'demo.json');

export async function seedDemo(
  documents: DocumentStore,
  file = DEMO_SEED_FILE,
): Promise<{ created: number; kept: number }> {
  if (!existsSync(file)) return { created: 0, kept: 0 };
  const seed = SeedSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  let created = 0;
  let kept = 0;
  for (const doc of seed.documents) {
    try {
      await documents.create(doc.path, doc.data);
      created++;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      kept++;
    }
  }
  return { created, kept };
}
