import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtinAgents, createAgentRegistry } from './registry.js';
import { defineAgent } from './types.js';

const agent = (kind: string) =>
  defineAgent({
    kind,
    description: kind,
    config: z.object({}),
    run: async () => ({ status: 'succeeded', output: null }),
  });

describe('agent registry', () => {
  it('holds the built-in kinds', () => {
    const registry = createAgentRegistry(builtinAgents);
    expect(registry.kinds()).toEqual([
      'branch',
      'http',
      'human',
      'llm',
      'rules',
      'transform',
      'validate',
      'wait',
    ]);
  });

  it.each([
    ['transform', true],
    ['branch', true],
    ['teleport', false],
  ])('knows whether it has %s', (kind, known) => {
    const registry = createAgentRegistry(builtinAgents);
    expect(registry.has(kind)).toBe(known);
    expect(registry.get(kind)?.kind).toBe(known ? kind : undefined);
  });

  it('refuses two agents of one kind', () => {
    expect(() => createAgentRegistry([agent('a'), agent('b'), agent('a')])).toThrow(
      'two agents define the kind "a"',
    );
  });

  it('gives a copy of its kinds', () => {
    const registry = createAgentRegistry([agent('b'), agent('a')]);
    registry.kinds().push('c');
    expect(registry.kinds()).toEqual(['a', 'b']);
  });

  it.each(builtinAgents.map((a) => [a.kind, a] as const))(
    '%s has a description and a config schema',
    (_kind, a) => {
      expect(a.description.length).toBeGreaterThan(10);
      expect(typeof a.config.safeParse).toBe('function');
    },
  );
});
