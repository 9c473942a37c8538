/**
 * Use cases from templates (issue 10). The requirement list's target is 40%
 * faster use-case creation; what a template saves is measured two ways:
 *
 * - effort: for each built-in template, the fields a user supplies to make a
 *   working use case (its id and the variables with no default) against the
 *   use case they would otherwise write by hand (its leaf fields and bytes);
 * - the server's side: creating a use case from a template over HTTP
 *   (resolve the chain, substitute, validate, save), against the peer,
 *   posting the same resolved use case as raw JSON, in the same run.
 *
 * The wizard in Mission Control, library to first succeeded execution, is
 * timed by its browser test (hosting/tests/use-cases.browser.test.ts).
 */
import { fmt, lib, line, median, note, Report, section, withServedRuntime } from './harness.mjs';

const ROUNDS = 5;
const PER_ROUND = 40;

const [{ BUILTIN_TEMPLATES }, { creationEffort }] = await Promise.all([
  lib('orchestrators/use-cases/library/index.js'),
  lib('orchestrators/use-cases/library/effort.js'),
]);

const report = new Report('templates');
section('templates: what a template saves');

const concrete = BUILTIN_TEMPLATES.filter((t) => !t.metadata.abstract);
const efforts = [];
for (const t of concrete) {
  const e = await creationEffort(t);
  // The id is the one field every use case needs whatever it is made from.
  const supplied = 1 + e.requiredFields;
  efforts.push({ ...e, supplied });
  line(
    `${e.id}: fields to supply / by hand`,
    `${supplied} / ${e.resolvedFields} (${fmt(e.resolvedBytes / 1024, 1)} KB)`,
    'fewer by 40% or more',
  );
  report.row(
    `${e.id}: fields to supply vs by hand`,
    `${supplied} vs ${e.resolvedFields} (${fmt(e.resolvedBytes)} B)`,
    '≥ 40% fewer',
    supplied <= e.resolvedFields * 0.6,
  );
}
note(
  'Every variable of the built-in templates has a default: a working use case needs only its id. ' +
    `Changing every variable as well is at most ${Math.max(...efforts.map((e) => 1 + e.requiredFields + e.optionalFields))} fields.`,
);

section('templates: creating a use case over HTTP, from a template and as raw JSON');
const { bodyOf } = await lib('orchestrators/use-cases/model.js');
const template = concrete[0];
const fromTemplate = [];
const asJson = [];
await withServedRuntime(async (_runtime, url) => {
  const base = `${url}/api/useCases/workspaces/bench`;
  async function post(path, body) {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = await res.json();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(answer)}`);
    return answer;
  }
  // The peer: the same use case, as the template makes it, posted whole.
  const raw = bodyOf(await post(`/templates/${template.metadata.id}/use-cases?dryRun=true`, { id: 'probe' }));
  let n = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const a = [];
    const b = [];
    for (let i = 0; i < PER_ROUND; i++) {
      n++;
      let t = performance.now();
      await post(`/templates/${template.metadata.id}/use-cases`, { id: `t-${n}` });
      a.push(performance.now() - t);
      t = performance.now();
      await post('/use-cases', { ...raw, id: `r-${n}` });
      b.push(performance.now() - t);
    }
    fromTemplate.push(median(a));
    asJson.push(median(b));
  }
});

const spread = (xs) => `${fmt(Math.min(...xs), 1)}–${fmt(Math.max(...xs), 1)} ms`;
line(
  `from ${template.metadata.id}: p50 per round (${ROUNDS} rounds)`,
  spread(fromTemplate),
  'none (context)',
);
line('the same use case as raw JSON: p50 per round', spread(asJson), 'none (context)');
report.row('create from a template, p50 (spread of rounds)', spread(fromTemplate));
report.row('create as raw JSON (peer), p50 (spread of rounds)', spread(asJson));
note(
  `${PER_ROUND} creates per round, one at a time; the template path also resolves the chain and validates the values.`,
);
report.data = { efforts, fromTemplateP50Ms: fromTemplate, asJsonP50Ms: asJson };
report.save();
