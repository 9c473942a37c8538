/**
 * Fair dispatch inside one queue, pure: which ready tasks a claim takes.
 *
 * Tasks carry a fairness key (the engine uses the workspace) and a weight.
 * The algorithm is start-time fair queuing, which a newcomer can follow with
 * a pencil:
 *
 * - The queue keeps a virtual clock. Each key keeps a finish tag: the virtual
 *   time by which it has had its fair turns.
 * - Serving a key's task starts at `max(clock, key's finish tag)`; the key
 *   whose start is smallest is served next (ties: the older task). Serving it
 *   moves that key's finish tag on by `1 / weight` and the clock to the start.
 * - So while two keys both have work, one of weight 2 is served twice as often
 *   as one of weight 1, whatever their backlogs. A key that was idle starts at
 *   the clock: it cannot save up turns while idle, and it never queues behind
 *   another key's backlog either. Within a key, tasks go oldest first.
 *
 * Headroom. Fair order alone does not help a key whose task arrives while a
 * flooding key has used every dispatch token and concurrency slot: it waits
 * for the next one (up to 1/rate). So a *busy* key (one that still had work
 * pending after its last turn: a backlog) leaves some of the queue's capacity
 * unused for keys that had work recently (within `memoryMs`) but have none
 * pending now: one dispatch (a token and a slot) per such key, at most a
 * quarter of the queue's capacity. One token is always kept back for a key
 * never seen before, so even a tenant's first task does not wait for the
 * flood's next token. A key that was idle may use the headroom; busy keys
 * take turns by their tags. The flooder loses only that much burst, not
 * throughput: the tokens it leaves refill the bucket, and it takes each one
 * above the reserve.
 */

export interface ReadyKey {
  key: string;
  weight: number;
  /** Ready tasks of this key, oldest first (task seq numbers). */
  seqs: readonly number[];
  /** Whether the key has pending tasks besides `seqs` (not due yet, or beyond this batch). @default false */
  more?: boolean;
}

interface KeyState {
  finish: number;
  seenAt: number;
  /** Nothing of this key was left pending after its last turn: it may use the headroom. */
  idle: boolean;
}

const DEFAULT_MEMORY_MS = 5_000;

export class FairScheduler {
  readonly #keys = new Map<string, KeyState>();
  readonly #memoryMs: number;
  #clock = 0;

  constructor(opts: { memoryMs?: number } = {}) {
    this.#memoryMs = opts.memoryMs ?? DEFAULT_MEMORY_MS;
  }

  /** Notes that `key` has work now (a task was enqueued), so it counts as recently active. */
  seen(key: string, now: number): void {
    const state = this.#keys.get(key);
    if (state) state.seenAt = now;
    else this.#keys.set(key, { finish: this.#clock, seenAt: now, idle: true });
  }

  /**
   * Chooses tasks from the ready keys, in fair order, within the free
   * concurrency `slots` and dispatch `tokens` now (and at most `limit`).
   * `capacity` is the queue's own size (the smaller of its concurrency and its
   * burst): it bounds the headroom kept back. `held`: keys with pending work
   * that may not go now (the queue holds them back), so they are not idle.
   */
  pick(
    ready: readonly ReadyKey[],
    free: { slots: number; tokens: number; limit: number },
    capacity: number,
    now: number,
    held: ReadonlySet<string> = new Set(),
  ): number[] {
    for (const r of ready) this.seen(r.key, now);
    for (const key of held) this.seen(key, now);
    const readyKeys = new Set(ready.map((r) => r.key));
    let idleRecent = 0;
    for (const [key, state] of this.#keys) {
      if (readyKeys.has(key) || held.has(key)) continue;
      if (now - state.seenAt <= this.#memoryMs) {
        if (state.idle) idleRecent++;
      }
      // Forgotten after `memoryMs` without work, so memory stays bounded by the keys active that long. A key
      // that comes back starts afresh at the clock: it may gain the one turn it was ahead by, no more.
      else this.#keys.delete(key);
    }
    const cap = Math.floor(capacity / 4);
    const tokens = Math.floor(free.tokens);
    const all = Math.max(0, Math.min(free.limit, free.slots, tokens));
    // What busy keys may take in all: everything but the headroom.
    const busy = Math.max(
      0,
      Math.min(all, free.slots - Math.min(idleRecent, cap), tokens - Math.min(Math.max(idleRecent, 1), cap)),
    );
    const picked: number[] = [];
    const next = ready.map(() => 0);
    while (picked.length < all) {
      let best = -1;
      let bestStart = Number.POSITIVE_INFINITY;
      let bestSeq = Number.POSITIVE_INFINITY;
      ready.forEach((r, i) => {
        const seq = r.seqs[next[i] ?? 0];
        if (seq === undefined) return;
        const state = this.#keys.get(r.key);
        if (!state?.idle && picked.length >= busy) return;
        const start = Math.max(this.#clock, state?.finish ?? this.#clock);
        if (start < bestStart || (start === bestStart && seq < bestSeq)) {
          best = i;
          bestStart = start;
          bestSeq = seq;
        }
      });
      const chosen = ready[best];
      if (!chosen) break; // nothing left that may be taken now
      const state = this.#keys.get(chosen.key) as KeyState;
      picked.push(bestSeq);
      next[best] = (next[best] ?? 0) + 1;
      state.finish = bestStart + 1 / Math.max(chosen.weight, 1e-3);
      this.#clock = bestStart;
    }
    ready.forEach((r, i) => {
      const state = this.#keys.get(r.key);
      if (state) state.idle = (next[i] ?? 0) >= r.seqs.length && !r.more;
    });
    for (const key of held) {
      const state = this.#keys.get(key);
      if (state) state.idle = false;
    }
    return picked;
  }

  /** Keys remembered now (tests: memory stays bounded). */
  get size(): number {
    return this.#keys.size;
  }
}
