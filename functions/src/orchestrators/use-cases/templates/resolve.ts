/**
 * From a template to a use case: its inheritance chain merged (merge.ts), its
 * variables checked and filled in (substitute.ts), and the result checked as
 * the engine checks any use case. Every problem carries a JSON pointer and all
 * come back at once. Pure: templates are loaded by the caller's function.
 */
import { RE2JS } from 're2js';
import { InvalidInputError, type ProblemField } from '../../../platform/errors.js';
import type { AgentCatalog } from '../../executions/workflow.js';
import { compileWorkflow } from '../../executions/workflow.js';
import { type UseCaseBody, UseCaseBodySchema } from '../model.js';
import { isPlainObject, mergeAt, type Origins } from './merge.js';
import {
  MAX_CHAIN_DEPTH,
  MAX_VARIABLES,
  type Template,
  type TemplateRef,
  type Variable,
  VariableSchema,
} from './model.js';
import { type Scalar, SecretReference, type SubstitutionProblem, substitute } from './substitute.js';

export type TemplateLoader = (ref: TemplateRef) => Promise<Template | null>;

export interface ResolvedTemplate {
  /** The leaf's metadata: what is being instantiated; its tags are the whole chain's. */
  metadata: Template['metadata'];
  /** Root first: the base, then each template that extends it, ending with this one. */
  chain: TemplateRef[];
  variables: Record<string, Variable>;
  spec: Record<string, unknown>;
  samples: { name: string; description: string; input: unknown }[];
  /** JSON pointer (`/spec/workflow/steps/0/config/threshold`) → `id@version` of the template that set it. */
  origins: Record<string, string>;
}

const refName = (ref: TemplateRef) => `${ref.id}@${ref.version}`;

/** Throws InvalidInputError listing every problem, each at its JSON pointer. */
export function invalid(message: string, problems: readonly SubstitutionProblem[]): never {
  const fields: ProblemField[] = problems.slice(0, 200).map((p) => ({ path: p.pointer, message: p.message }));
  const first = problems[0];
  throw new InvalidInputError(
    first
      ? `${message}: ${first.pointer || '/'}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`
      : message,
    fields,
  );
}

/** Follows `extends` to the root: acyclic and at most MAX_CHAIN_DEPTH long. */
export async function loadChain(leaf: Template, load: TemplateLoader): Promise<Template[]> {
  const chain = [leaf];
  const seen = new Set([refName(leaf.metadata)]);
  let at = leaf;
  while (at.extends) {
    const ref = at.extends;
    const pointer = chain.length === 1 ? '/extends' : `/extends (in ${refName(at.metadata)})`;
    if (seen.has(refName(ref)) || ref.id === at.metadata.id)
      invalid('Inheritance has a cycle', [
        {
          pointer,
          message: `${chain.map((t) => refName(t.metadata)).join(' extends ')} extends ${refName(ref)}: a template cannot extend itself, directly or through others`,
        },
      ]);
    if (chain.length >= MAX_CHAIN_DEPTH)
      invalid('Inheritance is too deep', [
        { pointer, message: `at most ${MAX_CHAIN_DEPTH} templates in a chain` },
      ]);
    const parent = await load(ref);
    if (!parent)
      invalid('Unknown parent template', [{ pointer, message: `template ${refName(ref)} not found` }]);
    seen.add(refName(ref));
    chain.push(parent);
    at = parent;
  }
  return chain.reverse();
}

/** `__proto__` as a key would set an object's prototype where it is copied, not a field: refused. */
function protoKeys(value: unknown, pointer: string, out: SubstitutionProblem[]): void {
  if (out.length >= 20) return;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) protoKeys(v, `${pointer}/${i}`, out);
  } else if (isPlainObject(value))
    for (const [k, v] of Object.entries(value)) {
      if (k === '__proto__')
        out.push({ pointer: `${pointer}/__proto__`, message: '`__proto__` is not allowed as a key' });
      else protoKeys(v, `${pointer}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, out);
    }
}

/** Merges a chain (root first) into one template, with the origin of every value. */
export function mergeChain(chain: readonly Template[]): ResolvedTemplate {
  const refused: SubstitutionProblem[] = [];
  for (const t of chain) {
    for (const part of ['variables', 'spec', 'samples'] as const) protoKeys(t[part], `/${part}`, refused);
    if (refused.length > 0) invalid(`Template ${refName(t.metadata)} is refused`, refused);
  }
  const origins: Origins = new Map();
  let variables: unknown = {};
  let spec: unknown = {};
  let samples: unknown = [];
  for (const t of chain) {
    const name = refName(t.metadata);
    variables = mergeAt(variables, t.variables, '/variables', name, origins);
    spec = mergeAt(spec, t.spec, '/spec', name, origins);
    samples = t.samples.length > 0 ? mergeAt(samples, t.samples, '/samples', name, origins) : samples;
  }
  const leaf = chain[chain.length - 1] as Template;
  const problems: SubstitutionProblem[] = [];
  const checked: Record<string, Variable> = {};
  if (Object.keys(variables as object).length > MAX_VARIABLES)
    invalid(`Template ${refName(leaf.metadata)} has too many variables`, [
      { pointer: '/variables', message: `at most ${MAX_VARIABLES} through the whole chain` },
    ]);
  for (const [name, raw] of Object.entries(variables as Record<string, unknown>)) {
    const parsed = VariableSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        problems.push({
          pointer: `/variables/${name}${issue.path.map((p) => `/${String(p)}`).join('')}`,
          message: issue.message,
        });
      continue;
    }
    checked[name] = parsed.data;
    problems.push(...checkDefault(name, parsed.data));
  }
  if (problems.length > 0) invalid(`Template ${refName(leaf.metadata)} has invalid variables`, problems);
  // Tags add up along the chain: a use case is found by its vertical's tags and its own.
  const tags = [...new Set(chain.flatMap((t) => t.metadata.tags))].slice(0, 20);
  return {
    metadata: { ...leaf.metadata, tags },
    chain: chain.map((t) => ({ id: t.metadata.id, version: t.metadata.version })),
    variables: checked,
    spec: spec as Record<string, unknown>,
    samples: (samples as ResolvedTemplate['samples']).map((s) => ({
      ...s,
      description: s.description ?? '',
    })),
    origins: Object.fromEntries([...origins].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
}

export async function resolveTemplate(leaf: Template, load: TemplateLoader): Promise<ResolvedTemplate> {
  return mergeChain(await loadChain(leaf, load));
}

/**
 * A variable's pattern, whole-value, on RE2: matching is linear in the value, so a pattern such as
 * `(a+)+$` in someone's template cannot stall the thread that instantiates it. The pattern is
 * written in JavaScript syntax; what RE2 cannot run (backreferences, lookaround) is refused.
 */
function variablePattern(source: string): RE2JS | string {
  let pattern = patterns.get(source);
  if (pattern === undefined) {
    // RE2 expands a counted repetition into that many copies: `[a-z]{0,1000}` thirty times over is
    // a program that takes seconds to run over one long value.
    for (const [, n, m] of source.matchAll(/\{(\d+)(?:,(\d*))?\}/g))
      if (Number(n) > MAX_PATTERN_REPEAT || Number(m ?? 0) > MAX_PATTERN_REPEAT)
        return `a counted repetition may go up to ${MAX_PATTERN_REPEAT}`;
    try {
      pattern = RE2JS.compile(RE2JS.translateRegExp(new RegExp(`^(?:${source})$`, 'u')));
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
    if (patterns.size >= 500) patterns.delete(patterns.keys().next().value as string);
    patterns.set(source, pattern);
  }
  return pattern;
}
const patterns = new Map<string, RE2JS>();
const MAX_PATTERN_REPEAT = 50;

function checkDefault(name: string, variable: Variable): SubstitutionProblem[] {
  if (variable.type === 'string' && variable.pattern !== undefined) {
    const pattern = variablePattern(variable.pattern);
    if (typeof pattern === 'string') return [{ pointer: `/variables/${name}/pattern`, message: pattern }];
  }
  if (variable.default === undefined) return [];
  const why = checkValue(variable, variable.default);
  return why ? [{ pointer: `/variables/${name}/default`, message: why }] : [];
}

/** Why `value` does not fit `variable`, or null when it does. */
export function checkValue(variable: Variable, value: unknown): string | null {
  switch (variable.type) {
    case 'string':
    case 'secret':
    case 'dataset': {
      if (typeof value !== 'string')
        return `must be ${variable.type === 'string' ? 'text' : `a ${variable.type} name`}, not ${typeName(value)}`;
      if (variable.type === 'secret' && !/^[A-Z][A-Z0-9_]{0,62}$/.test(value))
        return 'must be a secret NAME (A-Z, 0-9, _), never its value';
      if (variable.type === 'dataset' && !/^[a-z][a-z0-9-]{0,62}(@[0-9]+)?$/.test(value))
        return 'must be a dataset name (lower-case, dashes), optionally @version';
      if (variable.type === 'string') {
        const maxLength = variable.maxLength ?? 1000;
        if (value.length > maxLength) return `is longer than ${maxLength} characters`;
        if (variable.pattern !== undefined) {
          const pattern = variablePattern(variable.pattern);
          if (typeof pattern === 'string') return `its pattern cannot be used: ${pattern}`;
          if (!pattern.matches(value)) return `must match ${variable.pattern}`;
        }
      }
      return null;
    }
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value))
        return `must be a number, not ${typeName(value)}`;
      if (variable.integer && !Number.isInteger(value)) return 'must be a whole number';
      if (variable.minimum !== undefined && value < variable.minimum)
        return `must be at least ${variable.minimum}`;
      if (variable.maximum !== undefined && value > variable.maximum)
        return `must be at most ${variable.maximum}`;
      return null;
    case 'boolean':
      return typeof value === 'boolean' ? null : `must be true or false, not ${typeName(value)}`;
    case 'enum':
      if (typeof value !== 'string' || !variable.values.includes(value))
        return `must be one of ${variable.values.map((v) => JSON.stringify(v)).join(', ')}`;
      return null;
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? `text ${JSON.stringify(value.slice(0, 40))}` : `a ${typeof value}`;
}

export const isRequired = (v: Variable) => v.required ?? v.default === undefined;

/** A value of the variable's type, for checking a template that has no values yet. */
function placeholder(v: Variable): Scalar {
  if (v.default !== undefined)
    return v.type === 'secret' ? new SecretReference(v.default as string) : v.default;
  switch (v.type) {
    case 'string':
      return 'example';
    case 'number':
      return v.minimum ?? (v.maximum !== undefined ? Math.min(0, v.maximum) : 1);
    case 'boolean':
      return false;
    case 'enum':
      return v.values[0] as string;
    case 'secret':
      return new SecretReference('EXAMPLE_SECRET');
    case 'dataset':
      return 'example-dataset';
  }
}

export interface InstantiateRequest {
  id: string;
  name?: string | undefined;
  description?: string | undefined;
  values: Record<string, unknown>;
}

/**
 * The use case a template makes with these values. Checks the values (unknown,
 * missing, of the wrong type: at `/values/<name>`), substitutes them, and checks
 * the result as any use case is checked (at `/spec/...`).
 */
export function instantiate(
  resolved: ResolvedTemplate,
  request: InstantiateRequest,
  agents: AgentCatalog,
  opts: { placeholders?: boolean } = {},
): UseCaseBody {
  const problems: SubstitutionProblem[] = [];
  const vars = new Map<string, Scalar>();
  const values: Record<string, unknown> = {};
  // Own properties only: `constructor` or `toString` must not find Object's. The message names a
  // few of the template's variables, and at most 50 unknown names are reported: a request of many
  // thousands must not make a reply (and a heap) of their product.
  const known = Object.keys(resolved.variables);
  const some = `${known.slice(0, 12).join(', ') || 'none'}${known.length > 12 ? `, … (${known.length} in all)` : ''}`;
  let unknown = 0;
  for (const name of Object.keys(request.values))
    if (!Object.hasOwn(resolved.variables, name) && unknown++ < 50)
      problems.push({
        pointer: `/values/${name.slice(0, 100)}`,
        message: `unknown variable "${name.slice(0, 100)}"; the template's are: ${some}`,
      });
  if (unknown > 50) problems.push({ pointer: '/values', message: `${unknown} unknown variables in all` });
  for (const [name, variable] of Object.entries(resolved.variables)) {
    const given = Object.hasOwn(request.values, name) ? request.values[name] : undefined;
    if (given !== undefined) {
      const why = checkValue(variable, given);
      if (why) problems.push({ pointer: `/values/${name}`, message: `${name} ${why}` });
      values[name] = given;
      vars.set(
        name,
        variable.type === 'secret' && typeof given === 'string'
          ? new SecretReference(given)
          : (given as Scalar),
      );
    } else if (opts.placeholders) {
      vars.set(name, placeholder(variable));
    } else if (variable.default !== undefined) {
      values[name] = variable.default;
      vars.set(
        name,
        variable.type === 'secret' ? new SecretReference(variable.default as string) : variable.default,
      );
    } else if (isRequired(variable)) {
      problems.push({
        pointer: `/values/${name}`,
        message: `${name} is required: ${variable.description || `a ${variable.type}`}`,
      });
    } else vars.set(name, null);
  }
  if (problems.length > 0) invalid('The values do not fit the template', problems);

  const spec = substitute(resolved.spec, vars, '/spec', problems);
  if (problems.length > 0) invalid('The template does not resolve', problems);
  if (!isPlainObject(spec))
    invalid('The template does not resolve', [{ pointer: '/spec', message: 'must be an object' }]);
  applyDefaults(spec);
  const { metadata } = resolved;
  const body = UseCaseBodySchema.safeParse({
    ...spec,
    id: request.id,
    name: request.name ?? metadata.name,
    vertical: metadata.vertical,
    description: request.description ?? metadata.description,
    tags: metadata.tags,
    template: { id: metadata.id, version: metadata.version, values },
  });
  if (!body.success) {
    invalid(
      'The template does not make a valid use case',
      body.error.issues.map((issue) => {
        const [head, ...rest] = issue.path.map(String);
        const top =
          head === 'id' || head === 'name' || head === 'description' ? `/${head}` : `/spec/${head ?? ''}`;
        return {
          pointer: `${head === undefined ? '/spec' : top}${rest.map((p) => `/${p}`).join('')}`,
          message: issue.message,
        };
      }),
    );
  }
  try {
    compileWorkflow(body.data.workflow, agents);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    invalid(
      'The template does not make a valid workflow',
      error.fields.map((f) => ({ pointer: `/spec${f.path}`, message: f.message })),
    );
  }
  return body.data;
}

/** The spec's pool and cache settings, as defaults of the steps that name none. */
function applyDefaults(spec: Record<string, unknown>): void {
  const workflow = spec.workflow;
  const steps = isPlainObject(workflow) && Array.isArray(workflow.steps) ? workflow.steps : [];
  const priority = isPlainObject(spec.pool) ? spec.pool.priority : undefined;
  const ttl = isPlainObject(spec.cache) ? spec.cache.ttlSeconds : undefined;
  for (const step of steps) {
    if (!isPlainObject(step)) continue;
    if (priority !== undefined && step.priority === undefined) step.priority = priority;
    if (ttl !== undefined && isPlainObject(step.cache) && step.cache.ttlSeconds === undefined)
      step.cache.ttlSeconds = ttl;
  }
}

/**
 * Checks a template as a publish does: the chain, the variables, and (unless
 * abstract) the use case it makes with placeholder values. Every `${}` must
 * name a declared variable.
 */
export async function validateTemplate(
  template: Template,
  load: TemplateLoader,
  agents: AgentCatalog,
): Promise<ResolvedTemplate> {
  const resolved = await resolveTemplate(template, load);
  if (!template.metadata.abstract)
    instantiate(resolved, { id: 'template-check', values: {} }, agents, { placeholders: true });
  else {
    // An abstract template's spec may be partial; its `${}` must still name variables.
    const problems: SubstitutionProblem[] = [];
    const vars = new Map(Object.entries(resolved.variables).map(([n, v]) => [n, placeholder(v)] as const));
    substitute(resolved.spec, vars, '/spec', problems);
    if (problems.length > 0) invalid('The template does not resolve', problems);
  }
  return resolved;
}
