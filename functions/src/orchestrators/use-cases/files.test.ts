import { execFileSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigFileError,
  MAX_FILE_BYTES,
  parseConfigFile,
  readConfigFile,
  toYaml,
  useCaseToFile,
} from './files.js';
import { type UseCase, UseCaseSchema } from './model.js';

const templateYaml = `
apiVersion: seraphim.dev/v1
kind: Template
metadata:
  id: adder
  version: 1.0.0
  name: Adder
  vertical: testing
variables:
  step: { type: number, default: 1 }
spec:
  workflow:
    steps:
      - { id: add, agent: transform, inputs: { x: input.x }, output: y, config: { expression: "x + \${step}" } }
`;

function problems(name: string, text: string): string[] {
  try {
    parseConfigFile(name, text);
  } catch (error) {
    if (error instanceof ConfigFileError)
      return error.problems.map((p) => `${p.where} ${p.pointer}: ${p.message}`);
    throw error;
  }
  throw new Error('expected a ConfigFileError');
}

describe('configuration files', () => {
  it('reads a template and a use case from one YAML file with two documents', () => {
    const docs = parseConfigFile(
      'both.yaml',
      `${templateYaml}---\napiVersion: seraphim.dev/v1\nkind: UseCase\nmetadata: { id: mine }\ntemplate: { id: adder, values: { step: 2 } }\n`,
    );
    expect(docs.map((d) => d.kind)).toEqual(['Template', 'UseCase']);
  });

  it('refuses a YAML alias bomb before it expands (9^10 values: expanded, it would not finish)', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...Array.from({ length: 9 }, (_, i) => {
        const prev = String.fromCharCode(97 + i);
        const next = String.fromCharCode(98 + i);
        return `${next}: &${next} [${Array(9).fill(`*${prev}`).join(',')}]`;
      }),
    ].join('\n');
    expect(problems('bomb.yaml', bomb)).toEqual([expect.stringContaining('Excessive alias count')]);
  });

  it('refuses a file over the size limit without parsing it', () => {
    expect(problems('huge.yaml', `a: "${'x'.repeat(MAX_FILE_BYTES)}"`)).toEqual([
      expect.stringContaining(`a file may have at most ${MAX_FILE_BYTES}`),
    ]);
  });

  it('reports every problem of every document with its place', () => {
    const text = `apiVersion: seraphim.dev/v1\nkind: Template\nmetadata: { id: Bad_Id, version: "1", name: x, vertical: y }\n---\nkind: Pipeline\n---\napiVersion: seraphim.dev/v1\nkind: UseCase\nmetadata: { id: u }\n`;
    expect(problems('many.yaml', text)).toEqual([
      expect.stringMatching(/^many.yaml#1 \/metadata\/id: /),
      expect.stringMatching(/^many.yaml#1 \/metadata\/version: /),
      'many.yaml#2 /kind: must be Template or UseCase',
      expect.stringMatching(/^many.yaml#3 : a use case file needs `template`/),
    ]);
  });

  it('reads only regular UTF-8 files, whatever their size claims, and refuses tags it does not know', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seraphim-files-'));
    const refused = (path: string) => {
      try {
        readConfigFile(path);
      } catch (error) {
        if (error instanceof ConfigFileError) return error.problems.map((p) => p.message);
        throw error;
      }
      throw new Error(`${path} was read`);
    };
    symlinkSync('/dev/zero', join(dir, 'zero.yaml'));
    expect(refused(join(dir, 'zero.yaml'))).toEqual(['not a regular file']);
    execFileSync('mkfifo', [join(dir, 'fifo.yaml')]);
    expect(refused(join(dir, 'fifo.yaml'))).toEqual(['not a regular file']);
    writeFileSync(join(dir, 'latin1.yaml'), Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    expect(refused(join(dir, 'latin1.yaml'))).toEqual(['not UTF-8 text']);
    writeFileSync(join(dir, 'tags.yaml'), 'a: !custom x\nb: !!set { x, y }\n');
    expect(refused(join(dir, 'tags.yaml'))).toEqual([
      expect.stringContaining('YAML refused'),
      expect.stringContaining('YAML refused'),
    ]);
    const [parsed] = parseConfigFile('t.yaml', templateYaml);
    if (parsed?.kind !== 'Template') throw new Error('expected a template');
    writeFileSync(join(dir, 'bom.json'), `\uFEFF${JSON.stringify(parsed.template)}`);
    expect(readConfigFile(join(dir, 'bom.json')).map((d) => d.kind)).toEqual(['Template']);
  });

  it('reports YAML syntax and duplicate keys', () => {
    expect(problems('dup.yaml', 'a: 1\na: 2\n')).toEqual([expect.stringContaining('not valid YAML')]);
    expect(problems('bad.json', '{"a": ')).toEqual([expect.stringContaining('not valid JSON')]);
  });

  it('writes a use case to YAML and reads it back unchanged', () => {
    const useCase: UseCase = UseCaseSchema.parse({
      id: 'round-trip',
      name: 'Round trip: "quotes", ${not a placeholder}, émoji 🎉',
      vertical: 'testing',
      description: 'multi\nline',
      workspace: 'w',
      version: 3,
      createdAt: 1,
      updatedAt: 2,
      tags: ['a'],
      secrets: ['API_KEY'],
      metrics: [{ id: 'speed', goal: 'minimize', target: 0.5 }],
      datasets: [{ dataset: 'claims@3' }],
      cache: { ttlSeconds: 60 },
      template: { id: 'adder', version: '1.0.0', values: { step: 2, on: true, nothing: null } },
      workflow: {
        inputSchema: { type: 'object', properties: { 'a/b': { type: 'string', pattern: '^[a-z]+$' } } },
        vars: { yes: 'yes', no: 'no', n: '012', date: '2026-01-01', empty: '' },
        steps: [{ id: 'add', agent: 'transform', output: 'y', config: { expression: 'x + 1' } }],
      },
    });
    const file = useCaseToFile(useCase);
    const [back] = parseConfigFile('u.yaml', toYaml([file]));
    expect(back).toEqual({ kind: 'UseCase', useCase: file });
    const [json] = parseConfigFile('u.json', JSON.stringify(file));
    expect(json).toEqual({ kind: 'UseCase', useCase: file });
  });
});
