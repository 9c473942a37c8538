/**
 * The routes' zod schemas as OpenAPI components, by zod's own registry
 * conversion (`z.toJSONSchema(registry, { uri })`): a schema with
 * `.meta({ id })`, and anything zod must hoist (a cycle), is one entry under
 * `components/schemas`, referenced from everywhere it is used; the rest is
 * inlined where a route uses it.
 *
 * One schema can have two shapes: on the way in, a field with a default is
 * optional and an object is open; on the way out, neither. The output shape
 * is named by the id (`UseCase`), the input shape by the id plus `Input`
 * (`UseCaseBodyInput`) when, and only when, it differs.
 */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;
export type Io = 'input' | 'output';

export const SCHEMA_REF = '#/components/schemas/';
/** Registry ids of route schemas that have no id of their own: inlined, never components. */
const INLINE_ID = '__inline';
/** Where zod's registry conversion points at what it hoisted that the registry does not name. */
const SHARED_REF = `${SCHEMA_REF}__shared#/$defs/`;

export interface SchemaCatalog {
  /** The schema where an operation uses it: a reference to its component, or the schema inline. */
  use(schema: z.ZodType, io: Io): JsonSchema;
  /** The schema itself, a component resolved (to read a parameter object's properties). */
  shape(schema: z.ZodType, io: Io): JsonSchema;
  /** Every component that any of the schemas reaches, in both shapes. */
  components: Readonly<Record<string, JsonSchema>>;
}

export function catalogSchemas(roots: Iterable<z.ZodType>): SchemaCatalog {
  const registry = z.registry<{ id: string }>();
  const ids = new Map<z.ZodType, string>();
  for (const schema of roots) {
    if (ids.has(schema)) continue;
    const id = z.globalRegistry.get(schema)?.id ?? `${INLINE_ID}${ids.size}`;
    // A registry keeps one schema per id: a second would silently take the first one's place.
    if ([...ids.values()].includes(id))
      throw new Error(`Two different schemas have the id "${id}": rename one`);
    ids.set(schema, id);
    registry.add(schema, { id });
  }
  const output = inlineRouteSchemas(convert(registry, 'output'));
  const rawInput = inlineRouteSchemas(convert(registry, 'input'));

  const same = new Map<string, boolean>();
  // Same shape both ways: equal here and in everything it references. A cycle is judged by the rest.
  const sameShape = (name: string, visiting = new Set<string>()): boolean => {
    const known = same.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) return true;
    visiting.add(name);
    const a = rawInput.get(name);
    const b = output.get(name);
    const result =
      a !== undefined &&
      b !== undefined &&
      JSON.stringify(a) === JSON.stringify(b) &&
      [...refNames(a)].every((ref) => sameShape(ref, visiting));
    visiting.delete(name);
    same.set(name, result);
    return result;
  };
  const inputName = (name: string) => (sameShape(name) ? name : `${name}Input`);
  const input = new Map(
    [...rawInput].map(([name, schema]) => [
      name,
      rewriteRefs(schema, (ref, rest) =>
        ref.startsWith(SCHEMA_REF)
          ? { ...rest, $ref: SCHEMA_REF + inputName(ref.slice(SCHEMA_REF.length)) }
          : undefined,
      ) as JsonSchema,
    ]),
  );

  const components: Record<string, JsonSchema> = {};
  const add = (name: string, schema: JsonSchema) => {
    const existing = components[name];
    if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(schema)) {
      throw new Error(`Two different schemas would be the component "${name}": rename one of their ids`);
    }
    components[name] = schema;
  };
  for (const [name, schema] of output) if (!name.startsWith(INLINE_ID)) add(name, schema);
  for (const [name, schema] of input) if (!name.startsWith(INLINE_ID)) add(inputName(name), schema);

  const idOf = (schema: z.ZodType): string => {
    const id = ids.get(schema);
    if (id === undefined) throw new Error('A schema the catalogue was not built with');
    return id;
  };
  const nameOf = (id: string, io: Io) => (io === 'output' ? id : inputName(id));
  const body = (id: string, io: Io): JsonSchema => {
    const found = (io === 'output' ? output : input).get(id);
    if (found === undefined) throw new Error(`zod produced no schema for "${id}"`);
    return found;
  };
  return {
    components,
    use(schema, io) {
      const id = idOf(schema);
      return id.startsWith(INLINE_ID) ? body(id, io) : { $ref: SCHEMA_REF + nameOf(id, io) };
    },
    shape: (schema, io) => body(idOf(schema), io),
  };
}

/** Only the components `from` reaches, directly or through other components. */
export function reachableComponents(
  components: Readonly<Record<string, JsonSchema>>,
  from: unknown,
): Record<string, JsonSchema> {
  const picked: Record<string, JsonSchema> = {};
  const visit = (node: unknown) => {
    for (const name of refNames(node)) {
      const schema = components[name];
      if (schema === undefined || name in picked) continue;
      picked[name] = schema;
      visit(schema);
    }
  };
  visit(from);
  return Object.fromEntries(Object.entries(picked).sort(([a], [b]) => a.localeCompare(b)));
}

/** Names of the components a JSON value references. */
export function refNames(node: unknown): Set<string> {
  const names = new Set<string>();
  rewriteRefs(node, (ref) => {
    if (ref.startsWith(SCHEMA_REF)) names.add(ref.slice(SCHEMA_REF.length));
    return undefined;
  });
  return names;
}

function convert(registry: z.core.$ZodRegistry<{ id: string }>, io: Io): Map<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => SCHEMA_REF + id,
  });
  const out = new Map<string, JsonSchema>();
  for (const [id, schema] of Object.entries(schemas)) {
    if (id === '__shared') {
      for (const [defId, def] of Object.entries(schema.$defs ?? {})) out.set(defId, { ...def });
      continue;
    }
    // `$id` (a URI with a fragment) and `$schema` belong to standalone documents, not to components.
    const { $id: _id, $schema: _schema, ...rest } = schema;
    out.set(id, rest);
  }
  for (const [id, schema] of out) {
    out.set(
      id,
      rewriteRefs(schema, (ref, rest) =>
        ref.startsWith(SHARED_REF) ? { ...rest, $ref: SCHEMA_REF + ref.slice(SHARED_REF.length) } : undefined,
      ) as JsonSchema,
    );
  }
  return out;
}

/** Replaces every reference to an inlined route schema with that schema (keeping what sits beside the `$ref`). */
function inlineRouteSchemas(schemas: Map<string, JsonSchema>): Map<string, JsonSchema> {
  const inline = (node: unknown, trail: readonly string[]): unknown =>
    rewriteRefs(node, (ref, rest) => {
      const name = ref.slice(SCHEMA_REF.length);
      if (!ref.startsWith(SCHEMA_REF) || !name.startsWith(INLINE_ID)) return undefined;
      if (trail.includes(name)) throw new Error('A route schema without an id contains itself: give it one');
      const target = schemas.get(name);
      if (target === undefined) throw new Error(`zod referenced "${name}" and did not produce it`);
      return { ...(inline(target, [...trail, name]) as JsonSchema), ...rest };
    });
  return new Map([...schemas].map(([name, schema]) => [name, inline(schema, [name]) as JsonSchema]));
}

/**
 * A copy of `node` where each object with a string `$ref` is replaced by what
 * `replace(ref, siblings)` returns, or kept (its children visited) when it
 * returns undefined.
 */
function rewriteRefs(node: unknown, replace: (ref: string, siblings: JsonSchema) => unknown): unknown {
  if (Array.isArray(node)) return node.map((item) => rewriteRefs(item, replace));
  if (typeof node !== 'object' || node === null) return node;
  const copy: JsonSchema = Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, key === '$ref' ? value : rewriteRefs(value, replace)]),
  );
  if (typeof copy.$ref === 'string') {
    const { $ref, ...siblings } = copy;
    const replaced = replace($ref, siblings);
    if (replaced !== undefined) return replaced;
  }
  return copy;
}
