/**
 * The shape of the source, checked: no import cycles, the platform imports no
 * runtime or orchestrator, orchestrators import no runtime, and the shipped
 * build (tsconfig.build.json) contains no test code, and the API contracts and
 * typed client (which Mission Control bundles) load nothing but zod and schema
 * modules. A cycle, a test helper compiled into `lib/` or server code in the
 * browser is found here, not in production.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));
const FUNCTIONS = resolve(SRC, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import (static, type-only and dynamic) of each non-test source file, as paths under src. */
function importGraph(): Map<string, string[]> {
  const files = sourceFiles(SRC).filter((f) => !f.endsWith('.test.ts'));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((ref) => ref.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => resolve(dirname(file), name.replace(/\.js$/, '.ts')))
      .filter((target) => known.has(target));
    graph.set(relative(SRC, file), [...new Set(targets.map((t) => relative(SRC, t)))]);
  }
  return graph;
}

/** What a file loads when it runs: its import and export-from specifiers, type-only ones left out. */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  return source.statements.flatMap((s) => {
    if (ts.isImportDeclaration(s) && !s.importClause?.isTypeOnly && ts.isStringLiteral(s.moduleSpecifier))
      return [s.moduleSpecifier.text];
    if (
      ts.isExportDeclaration(s) &&
      !s.isTypeOnly &&
      s.moduleSpecifier &&
      ts.isStringLiteral(s.moduleSpecifier)
    )
      return [s.moduleSpecifier.text];
    return [];
  });
}

/**
 * The modules the client may load: contracts, schemas, and the few platform
 * modules that are zod and plain functions (problems, errors, roles, stored kinds).
 */
const CLIENT_SAFE = [
  /^client\/[^/]+\.ts$/,
  /^orchestrators\/api\.ts$/,
  /^orchestrators\/[^/]+\/(api|model|responses)\.ts$/,
  // The template library's contract and its schemas (use-cases/api.ts spreads them in).
  /^orchestrators\/use-cases\/(templates-api|templates\/model)\.ts$/,
  /^platform\/(contract|problem|errors|identity|stored|priority|spans)\.ts$/,
  /^platform\/pool\/model\.ts$/,
];

/** Every module `entries` load at run time, and every package or builtin among them, by the file that loads it. */
function runtimeClosure(entries: string[]): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    const rel = relative(SRC, file);
    if (files.has(rel)) return;
    files.add(rel);
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(`${spec} (in ${rel})`);
    }
  };
  for (const entry of entries) visit(join(SRC, entry));
  return { files: [...files].sort(), packages: [...packages].sort() };
}

/** Strongly connected components with more than one file (Tarjan): each is an import cycle. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('source architecture', () => {
  const graph = importGraph();

  it('has no import cycles (type-only and dynamic imports included)', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('finds a cycle when there is one (the checker itself works)', () => {
    const looped = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(looped)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('keeps the platform free of runtimes and orchestrators, and orchestrators free of runtimes', () => {
    const offending = [...graph].flatMap(([file, targets]) =>
      targets
        .filter(
          (t) =>
            (file.startsWith('platform/') && (t.startsWith('runtimes/') || t.startsWith('orchestrators/'))) ||
            (file.startsWith('orchestrators/') && t.startsWith('runtimes/')),
        )
        .map((t) => `${file} → ${t}`),
    );
    expect(offending).toEqual([]);
  });

  it('ships no test code: the build leaves out tests, test support and contract suites, and nothing it keeps imports them', () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      join(FUNCTIONS, 'tsconfig.build.json'),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
    );
    const shipped = (config?.fileNames ?? []).map((f) => relative(SRC, resolve(f)));
    expect(shipped.length).toBeGreaterThan(50);
    const testOnly = (f: string) =>
      f.endsWith('.test.ts') || f.startsWith('test-support/') || f.startsWith('runtimes/contracts/');
    expect(shipped.filter(testOnly)).toEqual([]);
    const reachingTests = shipped.flatMap((f) =>
      (graph.get(f) ?? []).filter(testOnly).map((t) => `${f} → ${t}`),
    );
    expect(reachingTests).toEqual([]);
    const importingVitest = shipped.filter((f) =>
      /from ['"]vitest['"]/.test(readFileSync(join(SRC, f), 'utf8')),
    );
    expect(importingVitest).toEqual([]);
  });
  it('keeps the API contracts and the typed client to zod and schema modules (Mission Control bundles them)', () => {
    const contracts = [...graph.keys()].filter((f) => /^orchestrators\/([^/]+\/)?api\.ts$/.test(f));
    expect(contracts).toHaveLength(6);
    const { files, packages } = runtimeClosure(['client/index.ts', ...contracts]);
    expect(packages.filter((p) => !p.startsWith('zod '))).toEqual([]);
    expect(files.filter((f) => !CLIENT_SAFE.some((safe) => safe.test(f)))).toEqual([]);
    expect(files).toContain('orchestrators/executions/model.ts');
  });

  it('sees server code a contract would pull in (the closure checker itself works)', () => {
    const { files, packages } = runtimeClosure(['orchestrators/system/routes.ts']);
    expect(files).toContain('platform/config.ts');
    expect(packages.some((p) => p.startsWith('node:') || p.startsWith('@opentelemetry/'))).toBe(true);
  });
});
