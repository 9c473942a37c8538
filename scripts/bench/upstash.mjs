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
const firebase = /Upstash commands: ([\d.]+) per step on the Firebase path, uncontended/.exec(out);
const firebaseRefusal = /Upstash commands: ([\d.]+) per refusal on the Firebase path, contended/.exec(out);
if (run.status !== 0 || !uncontended || !contended || !firebase || !firebaseRefusal) {
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
  const firebaseStep = Number(firebase[1]);
  const firebaseRefusalCost = Number(firebaseRefusal[1]);
  note(
    'Embedded: 10 executions of a 5-step transform chain on the embedded runtime with the Upstash kv (real\n' +
      'redis-server behind the local Upstash REST server, which counts each command it forwards), on a\n' +
      'hand-moved clock. Per step: acquireSlots and settleStep; per execution: admission and finish, and the\n' +
      "pool's first look at who is active, amortised over its 5 steps: 2 + 12/50 = 2.24 at most.\n" +
      'Firebase path: 50 steps through the flow-control wrapper on a requeueing queue (as Cloud Tasks), each\n' +
      'paced at enqueue (takeTurn): one command for the turn, one for the slots, one for their release.\n' +
      'A refusal there is the refused acquireSlots (which also puts the task on the waiting list) and its\n' +
      'counters; the release that frees the slot pops the waiter in its own command. Nothing polls.\n' +
      'Contended (embedded): one transform at a time, so most steps are refused and woken.',
  );
  line('commands per uncontended step (embedded, Upstash kv)', perStep.toFixed(2), `≤ ${PER_STEP_TARGET}`);
  line(
    'commands per uncontended step (Firebase path, paced)',
    firebaseStep.toFixed(2),
    `≤ ${PER_STEP_TARGET}`,
  );
  line('commands per execution start', perStart.toFixed(2), 'none (context)');
  line(
    `more per deferral (embedded, ${contended[1]} deferrals)`,
    perDeferral.toFixed(2),
    `≤ ${PER_DEFERRAL_TARGET}`,
  );
  line('commands per refusal (Firebase path)', firebaseRefusalCost.toFixed(2), `≤ ${PER_DEFERRAL_TARGET}`);
  report.row(
    'Upstash commands per uncontended step (embedded / Firebase path)',
    `${perStep.toFixed(2)} / ${firebaseStep.toFixed(2)}`,
    `≤ ${PER_STEP_TARGET}`,
    perStep <= PER_STEP_TARGET && firebaseStep <= PER_STEP_TARGET,
  );
  report.row(
    'Upstash commands more per deferral (embedded / Firebase path)',
    `${perDeferral.toFixed(2)} / ${firebaseRefusalCost.toFixed(2)}`,
    `≤ ${PER_DEFERRAL_TARGET}`,
    perDeferral <= PER_DEFERRAL_TARGET && firebaseRefusalCost <= PER_DEFERRAL_TARGET,
  );
}
report.save();
