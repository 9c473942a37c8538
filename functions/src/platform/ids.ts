import { monotonicFactory } from 'ulid';

/** Sortable ids (ULID): lexicographic order is creation order, so they page well. */
export interface Ids {
  next(): string;
}

export function createUlids(now: () => number = Date.now): Ids {
  const factory = monotonicFactory();
  return { next: () => factory(now()) };
}
