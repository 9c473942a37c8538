/**
 * The documents port's contract: one suite, run against every adapter
 * (SQLite always; Firestore where its emulator exists).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  PayloadTooLargeError,
  SeraphimError,
} from '../../platform/errors.js';
import type { DocumentStore } from '../../platform/ports.js';

export interface DocumentStoreHarness {
  store: DocumentStore;
  teardown(): Promise<void>;
}

export function describeDocumentStoreContract(
  name: string,
  setup: () => Promise<DocumentStoreHarness>,
): void {
  describe(`documents port contract: ${name}`, () => {
    let h: DocumentStoreHarness;
    // A fresh root per run keeps runs against a shared emulator apart.
    const root = `contract/${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    let n = 0;
    const col = () => `${root}/c${++n}`;

    beforeAll(async () => {
      h = await setup();
    });
    afterAll(async () => {
      await h?.teardown();
    });

    it('creates, reads back, and starts at version 1', async () => {
      const path = `${col()}/a`;
      const created = await h.store.create(path, {
        title: 'hello',
        n: 1,
        nested: { ok: true },
        list: [1, 'two'],
      });
      expect(created.version).toBe(1);
      const read = await h.store.get(path);
      expect(read?.data).toEqual({ title: 'hello', n: 1, nested: { ok: true }, list: [1, 'two'] });
      expect(read?.id).toBe('a');
      expect(read?.version).toBe(1);
      expect(await h.store.get(`${col()}/missing`)).toBeNull();
    });

    it('rejects a duplicate create with a conflict and keeps the original', async () => {
      const path = `${col()}/dup`;
      await h.store.create(path, { v: 'first' });
      await expect(h.store.create(path, { v: 'second' })).rejects.toBeInstanceOf(ConflictError);
      expect((await h.store.get(path))?.data).toEqual({ v: 'first' });
    });

    it('set creates then replaces, bumping the version', async () => {
      const path = `${col()}/s`;
      expect((await h.store.set(path, { a: 1, b: 2 })).version).toBe(1);
      const replaced = await h.store.set(path, { a: 3 });
      expect(replaced.version).toBe(2);
      expect((await h.store.get(path))?.data).toEqual({ a: 3 });
    });

    it('update merges top-level fields and fails on a missing document', async () => {
      const path = `${col()}/u`;
      await h.store.create(path, { a: 1, b: { c: 2 } });
      const updated = await h.store.update(path, { b: { d: 3 }, e: 'x' });
      expect(updated.version).toBe(2);
      expect((await h.store.get(path))?.data).toEqual({ a: 1, b: { d: 3 }, e: 'x' });
      await expect(h.store.update(`${col()}/nope`, { a: 1 })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('rejects a stale version precondition and accepts the current one', async () => {
      const path = `${col()}/v`;
      await h.store.create(path, { state: 'pending' });
      await h.store.update(path, { state: 'running' }, { ifVersion: 1 });
      await expect(h.store.update(path, { state: 'failed' }, { ifVersion: 1 })).rejects.toBeInstanceOf(
        ConflictError,
      );
      await expect(h.store.set(path, { state: 'x' }, { ifVersion: 7 })).rejects.toBeInstanceOf(ConflictError);
      await expect(h.store.delete(path, { ifVersion: 1 })).rejects.toBeInstanceOf(ConflictError);
      expect((await h.store.get(path))?.data).toEqual({ state: 'running' });
      expect(await h.store.delete(path, { ifVersion: 2 })).toBe(true);
      expect(await h.store.delete(path)).toBe(false);
    });

    it('50 concurrent transactional increments on one document end at exactly 50', async () => {
      const path = `${col()}/counter`;
      await h.store.create(path, { count: 0 });
      await Promise.all(
        Array.from({ length: 50 }, () =>
          h.store.transaction(async (tx) => {
            const doc = await tx.get(path);
            tx.update(path, { count: Number(doc?.data.count ?? 0) + 1 });
          }),
        ),
      );
      const doc = await h.store.get(path);
      expect(doc?.data.count).toBe(50);
      expect(doc?.version).toBe(51);
    });

    it('a transaction that throws writes nothing', async () => {
      const path = `${col()}/t`;
      await expect(
        h.store.transaction(async (tx) => {
          tx.create(path, { a: 1 });
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await h.store.get(path)).toBeNull();
    });

    it('a transaction commits several writes atomically, or none when one conflicts', async () => {
      const c = col();
      await h.store.create(`${c}/exists`, { a: 1 });
      await expect(
        h.store.transaction(async (tx) => {
          tx.set(`${c}/new`, { b: 1 });
          tx.create(`${c}/exists`, { a: 2 });
        }),
      ).rejects.toBeInstanceOf(ConflictError);
      expect(await h.store.get(`${c}/new`)).toBeNull();
      await h.store.transaction(async (tx) => {
        const doc = await tx.get(`${c}/exists`);
        tx.set(`${c}/new`, { copied: doc?.data.a });
        tx.delete(`${c}/exists`);
      });
      expect((await h.store.get(`${c}/new`))?.data).toEqual({ copied: 1 });
      expect(await h.store.get(`${c}/exists`)).toBeNull();
    });

    it('queries with filters, order, limit and a cursor that pages through every match once', async () => {
      const c = col();
      for (let i = 0; i < 25; i++) {
        await h.store.create(`${c}/d${String(i).padStart(2, '0')}`, {
          n: i,
          parity: i % 2 === 0 ? 'even' : 'odd',
          tags: i % 5 === 0 ? ['five'] : [],
          score: i % 3,
        });
      }
      await h.store.create(`${c}/d99/sub/x`, { n: 1000, parity: 'even' }); // a subcollection is not a child
      const even = await h.store.query(c, {
        where: [{ field: 'parity', op: '==', value: 'even' }],
        limit: 100,
      });
      expect(even.docs.map((d) => d.data.n)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]);
      expect(even.nextCursor).toBeUndefined();

      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await h.store.query(c, {
          orderBy: [
            { field: 'score', direction: 'desc' },
            { field: 'n', direction: 'asc' },
          ],
          limit: 4,
          ...(cursor ? { cursor } : {}),
        });
        expect(page.docs.length).toBeLessThanOrEqual(4);
        seen.push(...page.docs.map((d) => Number(d.data.n)));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(25);
      expect(new Set(seen).size).toBe(25);
      expect(seen.slice(0, 3)).toEqual([2, 5, 8]); // score 2 first, then by n

      const ranged = await h.store.query(c, {
        where: [
          { field: 'n', op: '>=', value: 5 },
          { field: 'n', op: '<', value: 9 },
        ],
        orderBy: [{ field: 'n' }],
        limit: 10,
      });
      expect(ranged.docs.map((d) => d.data.n)).toEqual([5, 6, 7, 8]);
      const inList = await h.store.query(c, {
        where: [{ field: 'n', op: 'in', value: [1, 3, 99] }],
        limit: 10,
      });
      expect(inList.docs.map((d) => d.data.n).sort()).toEqual([1, 3]);
      const tagged = await h.store.query(c, {
        where: [{ field: 'tags', op: 'array-contains', value: 'five' }],
        limit: 10,
      });
      expect(tagged.docs.map((d) => d.data.n).sort((a, b) => Number(a) - Number(b))).toEqual([
        0, 5, 10, 15, 20,
      ]);
    });

    it('queries a collection group: every collection of that id under any parent, paged by full path', async () => {
      // Unique per run, as a group spans the whole store (a shared emulator too).
      const group = `g${Math.random().toString(36).slice(2, 10)}`;
      const written: Array<[string, number]> = [
        [`${root}/p/p1/${group}/x`, 1],
        [`${root}/p/p2/${group}/x`, 1], // the same id under another parent, with the same value
        [`${root}/p/p3/${group}/y`, 3],
        [`${root}/p/p3/${group}/z`, 9], // filtered out below
        [`${root}/p/p1/${group}/x/deeper/q/${group}/w`, 2], // deeper, still the group
        [`${group}/top`, 0], // a top-level collection of that id
      ];
      for (const [path, due] of written) await h.store.create(path, { due });
      await h.store.create(`${root}/p/p1/other/x`, { due: 1 }); // another collection id: not in the group
      await h.store.create(`${root}/p/p1/${group}/x/sub/v`, { due: 1 }); // a subcollection: not in the group

      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await h.store.queryGroup(group, {
          where: [{ field: 'due', op: '<=', value: 5 }],
          orderBy: [{ field: 'due' }],
          limit: 2,
          ...(cursor ? { cursor } : {}),
        });
        expect(page.docs.length).toBeLessThanOrEqual(2);
        seen.push(...page.docs.map((d) => d.path));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual([
        `${group}/top`,
        `${root}/p/p1/${group}/x`,
        `${root}/p/p2/${group}/x`,
        `${root}/p/p1/${group}/x/deeper/q/${group}/w`,
        `${root}/p/p3/${group}/y`,
      ]);
      await expect(h.store.queryGroup(`${group}/x`, { limit: 1 })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(h.store.queryGroup(group, { limit: 0 })).rejects.toBeInstanceOf(InvalidInputError);
    });

    it('counts the children of a collection that match, without the subcollections', async () => {
      const c = col();
      for (let i = 0; i < 7; i++) await h.store.create(`${c}/d${i}`, { n: i, odd: i % 2 === 1 });
      await h.store.create(`${c}/d0/sub/s`, { n: 1, odd: true });
      expect(await h.store.count(c)).toBe(7);
      expect(await h.store.count(c, [{ field: 'odd', op: '==', value: true }])).toBe(3);
      expect(await h.store.count(c, [{ field: 'n', op: 'in', value: [0, 5, 70] }])).toBe(2);
      expect(await h.store.count(`${c}/nothing/here`)).toBe(0);
    });

    it('keeps every query bounded', async () => {
      await expect(h.store.query(col(), { limit: 0 })).rejects.toBeInstanceOf(SeraphimError);
      await expect(h.store.query(col(), { limit: 100_000 })).rejects.toBeInstanceOf(SeraphimError);
    });

    it('refuses a document over 1 MiB, as Firestore does, and keeps the old one', async () => {
      const path = `${col()}/big`;
      await h.store.create(path, { small: true });
      await expect(h.store.set(path, { blob: 'x'.repeat(1024 * 1024 + 10) })).rejects.toBeInstanceOf(
        PayloadTooLargeError,
      );
      expect((await h.store.get(path))?.data).toEqual({ small: true });
    });

    it.each([
      ['an array directly inside an array', { rows: [[1, 2], [3]] }, 'data.rows.0'],
      ['a __name__-style field name', { meta: { __name__: 'x' } }, 'data.meta.__name__'],
      ['an empty field name', { labels: { '': 'blank' } }, 'data.labels.'],
      ['nesting deeper than 20 levels', nest(22), `data${'.a'.repeat(21)}`],
    ])('refuses what Firestore refuses, permanently and naming the field: %s', async (_, data, field) => {
      const path = `${col()}/refused`;
      await h.store.create(path, { fine: true });
      const error = await h.store.set(path, data).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).retryable).toBe(false);
      expect((error as InvalidInputError).fields.map((f) => f.path)).toContain(field);
      await expect(h.store.update(path, data)).rejects.toBeInstanceOf(InvalidInputError);
      await expect(
        h.store.transaction(async (tx) => {
          tx.set(path, data);
        }),
      ).rejects.toBeInstanceOf(InvalidInputError);
      expect((await h.store.get(path))?.data).toEqual({ fine: true });
    });

    it('stores arrays of maps that hold arrays, which Firestore allows', async () => {
      const path = `${col()}/allowed`;
      const data = { rows: [{ cells: [1, 2] }, { cells: [] }], deep: nest(19) };
      await h.store.set(path, data);
      expect((await h.store.get(path))?.data).toEqual(data);
    });

    it('refuses malformed paths', async () => {
      await expect(h.store.get('only-a-collection')).rejects.toBeInstanceOf(SeraphimError);
      await expect(h.store.create(`${col()}//x`, {})).rejects.toBeInstanceOf(SeraphimError);
    });
  });
}

/** `{ a: { a: … { a: 1 } } }`, `levels` maps deep. */
function nest(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { a: 1 };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}
