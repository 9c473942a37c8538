/**
 * Upstash commands per step: the pool's cost on the wire, counted by the local
 * Upstash REST server in front of a real redis-server. The counting is the
 * test functions/src/orchestrators/pool/cost.test.ts (it needs the test
 * support that functions/lib leaves out); this runs it and reports its figures
 * beside their targets. Needs redis-server (apt-get install -y redis-server).
 */
import { spawnSync } from 'node:child_process';
import { FUNCTIONS_DIR, line, note, Report, section } from './harness.mjs';

const PER_STEP_TARGET = 3;
const PER_DEFERRAL_TARGET = 2;
const report = new Report('upstash');
section('Upstash commands per step (pool decisions, counted on the wire)');
const run = spawnSync('npx', ['vitest', 'run', 'src/orchestrators/pool/cost.test.ts'], {
  cwd: FUNCTIONS_DIR,
  encoding: 'utf8',
  env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
});
const out = `${run.stdout}\n${run.stderr}`;
const uncontended = /Upstash commands: ([\d.]+) per start, ([\d.]+) per step, uncontended/.exec(out);
const contended = /Upstash commands: (\d+) deferrals, ([\d.]+) more per deferral, contended/.exec(out);
if (run.status !== 0 || !uncontended || !contended) {
  note(`the counting test failed (exit ${run.status}); its output:\n${out.slice(-2000)}`);
  report.row(
    'Upstash commands per step',
    'not measured (the counting test failed)',
    `≤ ${PER_STEP_TARGET}`,
    false,
  );
} else {
  const perStep = Number(uncontended[2]);
  const perStart = Number(uncontended[1]);
  const perDeferral = Number(contended[2]);
  note(
    '10 executions of a 5-step transform chain on the embedded runtime with the Upstash kv (real redis-server\n' +
      'behind the local Upstash REST server, which counts each command it forwards), on a hand-moved clock.\n' +
      'Per step: acquireSlots and settleStep; per execution: admission and finish; on Firebase pacing adds\n' +
      "one INCR per step at enqueue. The figure per step is amortised: 2 a step, plus each execution's finish\n" +
      "(1) and the pool's first look at who is active (2), over its 5 steps: 2 + 12/50 = 2.24 at most.\n" +
      'Contended: one transform at a time, so most steps are refused and woken.',
  );
  line('commands per uncontended step (embedded, Upstash kv)', perStep.toFixed(2), `≤ ${PER_STEP_TARGET}`);
  line('… on Firebase, with pacing at enqueue', (perStep + 1).toFixed(2), `≤ ${PER_STEP_TARGET}`);
  line('commands per execution start', perStart.toFixed(2), 'none (context)');
  line(`more per deferral (${contended[1]} deferrals)`, perDeferral.toFixed(2), `≤ ${PER_DEFERRAL_TARGET}`);
  report.row(
    'Upstash commands per uncontended step (embedded / Firebase with pacing)',
    `${perStep.toFixed(2)} / ${(perStep + 1).toFixed(2)}`,
    `≤ ${PER_STEP_TARGET}`,
    perStep + 1 <= PER_STEP_TARGET,
  );
  report.row(
    'Upstash commands more per deferral',
    perDeferral.toFixed(2),
    `≤ ${PER_DEFERRAL_TARGET}`,
    perDeferral <= PER_DEFERRAL_TARGET,
  );
}
report.save();
