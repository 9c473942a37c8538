import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SqliteDocumentStore } from '../runtimes/embedded/documents.js';
import { openDatabase } from '../runtimes/embedded/sqlite.js';
import { PermanentError } from './errors.js';
import {
  CorruptDocumentError,
  defineDocumentKind,
  readDocument,
  readPage,
  SCHEMA_VERSION_FIELD,
} from './stored.js';

/** Version 3 of a kind: v1 had `name`, v2 split it into `first`/`last`, v3 added `tags` (default none). */
const Person = defineDocumentKind({
  name: 'person',
  version: 3,
  schema: z.object({ first: z.string(), last: z.string(), tags: z.array(z.string()) }),
  migrations: {
    1: ({ name, ...rest }) => {
      const [first = '', ...last] = String(name).split(' ');
      return { ...rest, first, last: last.join(' ') };
    },
    2: (data) => ({ ...data, tags: [] }),
  },
});

describe('stored document kinds', () => {
  it.each([
    ['unstamped data, as written before versions', { name: 'Ada Lovelace' }],
    ['version 1', { name: 'Ada Lovelace', [SCHEMA_VERSION_FIELD]: 1 }],
    ['version 2', { first: 'Ada', last: 'Lovelace', [SCHEMA_VERSION_FIELD]: 2 }],
    ['version 3', { first: 'Ada', last: 'Lovelace', tags: [], [SCHEMA_VERSION_FIELD]: 3 }],
  ])('reads %s forward to the current version', (_, stored) => {
    expect(Person.parse('people/ada', stored)).toEqual({ first: 'Ada', last: 'Lovelace', tags: [] });
  });

  it('stamps what it writes with the current version, and reads its own writes back', () => {
    const stamped = Person.stamp({ first: 'Grace', last: 'Hopper', tags: ['navy'] });
    expect(stamped[SCHEMA_VERSION_FIELD]).toBe(3);
    expect(Person.parse('people/grace', stamped)).toEqual({ first: 'Grace', last: 'Hopper', tags: ['navy'] });
  });

  it('reports a document that does not match its schema as corrupt, naming the path and the field', () => {
    const error = (() => {
      try {
        Person.parse('people/x', { first: 'X', last: 7, tags: [], [SCHEMA_VERSION_FIELD]: 3 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(CorruptDocumentError);
    expect((error as CorruptDocumentError).retryable).toBe(false);
    expect((error as Error).message).toMatch(/person people\/x .*last/);
  });

  it('refuses data from a newer Seraphim, and a nonsense version, without guessing', () => {
    expect(() => Person.parse('people/y', { first: 'Y', [SCHEMA_VERSION_FIELD]: 4 })).toThrow(
      /schema version 4, newer than this Seraphim knows \(3\)/,
    );
    expect(() => Person.parse('people/y', { first: 'Y', [SCHEMA_VERSION_FIELD]: 'two' })).toThrow(
      CorruptDocumentError,
    );
    expect(() => Person.parse('people/y', { first: 'Y', [SCHEMA_VERSION_FIELD]: 4 })).toThrow(PermanentError);
  });

  it('will not define a kind with a gap in its migrations', () => {
    expect(() =>
      defineDocumentKind({ name: 'gappy', version: 3, schema: z.object({}), migrations: { 1: (d) => d } }),
    ).toThrow(/no migration from version 2/);
  });

  it('parses reads through a real store, one document and a page, in and out of transactions', async () => {
    const store = new SqliteDocumentStore(openDatabase({ file: ':memory:' }), {
      now: () => 1,
    });
    await store.create('people/ada', { name: 'Ada Lovelace' });
    await store.create('people/grace', Person.stamp({ first: 'Grace', last: 'Hopper', tags: [] }));
    expect((await readDocument(store, Person, 'people/ada'))?.data.last).toBe('Lovelace');
    expect(await readDocument(store, Person, 'people/none')).toBeNull();
    const page = readPage(Person, await store.query('people', { limit: 10 }));
    expect(page.docs.map((d) => d.data.first)).toEqual(['Ada', 'Grace']);
    const inTx = await store.transaction(
      async (tx) => (await readDocument(tx, Person, 'people/grace'))?.data,
    );
    expect(inTx).toEqual({ first: 'Grace', last: 'Hopper', tags: [] });
  });
});
