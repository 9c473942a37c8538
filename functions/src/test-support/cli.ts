/** Runs the `seraphim` CLI in process, as a test drives it: its exit code and what it printed on each stream. */
import { main } from '../cli/main.js';

export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    args,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}
