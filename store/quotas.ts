/**
 * Counters that must hold exactly across hub instances: a grant's daily quota (subjects served per
 * day) and verification attempts per (system, subject, resource) per day.
 *
 * Why slots and not `$inc`: a conditional `updateOne({ used: { $lt: limit } }, { $inc })` is atomic
 * on MongoDB, but FerretDB 1.24 (our servers) applies concurrent updates of one document as
 * read-modify-write without isolation: 60 concurrent `$inc` of one document were measured to leave
 * it at 2. What both servers do enforce atomically is a unique index. So each unit of a counter is
 * one small document whose `_id` is `<counter>#<slot>`, slot 1…limit: inserting slot k succeeds for
 * exactly one caller, and no slot above the limit is ever inserted, so at most `limit` units are
 * handed out, exactly, under any concurrency, on either server. Slots are taken densely from the
 * bottom (a collision moves the caller past the slots others took), so the highest slot is the use
 * so far. A refused request inserts nothing, so it consumes nothing.
 *
 * Cost: the hot path only inserts. FerretDB 1.24 answers queries on this collection, even a find
 * by `_id`, by scanning it (a count measured 28 µs per document), while an insert's unique check
 * uses the index. And every reservation of the same moment, of any counter, any grant and any
 * request, shares ONE `insertMany` (one in flight, everything that waits goes next), as the audit
 * writer's group commit does: SQLite has one writer, and separate small writes contend for it.
 */
import { MongoBulkWriteError, MongoServerError, type Collection, type Db } from 'mongodb';

export const SLOT_COLLECTION = 'counter_slots';
export const MARK_COLLECTION = 'slot_marks';

interface SlotDoc {
  _id: string;
  /** The counter: `q|<grant>|<day>` or `v|<system>|<resource>|<subject hash>|<day>`. */
  key: string;
  day: string;
  slot: number;
}

interface Want {
  readonly key: string;
  readonly day: string;
  readonly limit: number;
  /** Keep a high-water mark for this counter (large limits: a fresh process starts near the top). */
  readonly marks: boolean;
  remaining: number;
  readonly taken: number[];
  collided: boolean;
  /** Gave up at its deadline: never assigned slots after that. */
  abandoned: boolean;
  readonly resolve: (slots: number[]) => void;
  readonly reject: (error: unknown) => void;
}

function failedIndexes(error: unknown, count: number): Set<number> {
  if (error instanceof MongoBulkWriteError) {
    const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    const failed = new Set<number>();
    for (const e of errors) {
      if (e.code !== 11000) throw error;
      failed.add(e.index);
    }
    return failed;
  }
  if (error instanceof MongoServerError && error.code === 11000 && count === 1) return new Set([0]);
  throw error;
}

/**
 * The slot store of one hub process. A lossy high-water mark per counter (`slot_marks`, raised with
 * `$max` every 64 slots and after a collision) lets a process that has no hint yet start near the
 * top instead of probing from slot 1: a stale mark only costs a few more collisions, never a wrong
 * count.
 */
export class SlotStore {
  readonly #collection: Collection<SlotDoc>;
  readonly #marks: Collection<{ _id: string; high: number; day: string }>;
  readonly #next = new Map<string, number>();
  #queue: Want[] = [];
  #flushing = false;
  #scheduled = false;
  #cleanedFor = '';

  readonly #deadlineMs: number;

  constructor(db: Db, options: { deadlineMs?: number } = {}) {
    this.#collection = db.collection<SlotDoc>(SLOT_COLLECTION);
    this.#marks = db.collection(MARK_COLLECTION);
    this.#deadlineMs = options.deadlineMs ?? 2000;
  }

  async ensureIndexes(): Promise<void> {
    // `day` for the daily clean-up; everything else goes by `_id`.
    await this.#collection.createIndex({ day: 1 }, { name: 'day' });
  }

  /** Takes up to `n` slots of `key` within `limit`; resolves with the slot numbers taken (fewer at the limit). */
  take(key: string, day: string, n: number, limit: number, marks: boolean): Promise<number[]> {
    void this.#forgetBefore(day).catch(() => undefined);
    if (n <= 0 || limit <= 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      // A stalled server must give a clear error in time: past the deadline the caller is refused,
      // and a want not yet written is dropped (one in flight may still land: a unit spent, unserved).
      const timer = setTimeout(() => {
        want.abandoned = true;
        reject(new Error(`counter reservation missed its ${this.#deadlineMs} ms deadline`));
      }, this.#deadlineMs);
      const want: Want = {
        key, day, limit, marks, remaining: n, taken: [], collided: false, abandoned: false,
        resolve: (slots) => { clearTimeout(timer); resolve(slots); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      };
      this.#queue.push(want);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #start(w: Want): Promise<number> {
    const known = this.#next.get(w.key);
    if (known !== undefined) return known;
    const mark = w.marks ? ((await this.#marks.findOne({ _id: w.key }))?.high ?? 0) : 0;
    return Math.max(this.#next.get(w.key) ?? 1, mark + 1);
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    const batch = this.#queue.splice(0).filter((w) => !w.abandoned);
    try {
      // Assign each want its window of slots, in order, per counter.
      const docs: SlotDoc[] = [];
      const owners: Want[] = [];
      for (const w of batch) {
        let next = await this.#start(w);
        const want = Math.max(0, Math.min(w.remaining, w.limit - next + 1));
        for (let i = 0; i < want; i++) {
          docs.push({ _id: `${w.key}#${next + i}`, key: w.key, day: w.day, slot: next + i });
          owners.push(w);
        }
        next += want;
        this.#next.set(w.key, next);
      }
      let failed = new Set<number>();
      if (docs.length > 0) {
        try {
          await this.#collection.insertMany(docs, { ordered: false });
        } catch (error) {
          failed = failedIndexes(error, docs.length);
        }
      }
      docs.forEach((doc, i) => {
        const w = owners[i]!;
        if (failed.has(i)) {
          w.collided = true; // taken by another instance: it is behind us now, like ours
        } else {
          w.taken.push(doc.slot);
          w.remaining--;
        }
      });
      const marks = new Map<string, Want>();
      for (const w of batch) {
        const next = this.#next.get(w.key) ?? 1;
        if (w.remaining > 0 && next <= w.limit) {
          this.#queue.push(w); // collisions: try the next slots in the next flush
          continue;
        }
        if (w.marks && (w.collided || w.taken.some((s) => s % 64 === 0))) marks.set(w.key, w);
        w.resolve(w.taken);
      }
      for (const [key, w] of marks) {
        await this.#marks.updateOne({ _id: key }, { $max: { high: (this.#next.get(key) ?? 1) - 1 }, $setOnInsert: { day: w.day } }, { upsert: true }).catch(() => undefined);
      }
      if (this.#next.size > 100_000) this.#next.clear();
    } catch (error) {
      // Unknown state of these windows: forget the hints, so the next take starts from the marks.
      for (const w of batch) this.#next.delete(w.key);
      for (const w of batch) w.reject(error);
    } finally {
      this.#flushing = false;
      if (this.#queue.length > 0) this.#schedule();
    }
  }

  async #exists(key: string, slot: number): Promise<boolean> {
    return (await this.#collection.findOne({ _id: `${key}#${slot}` }, { projection: { _id: 1 } })) !== null;
  }

  /** Slots taken so far: the highest slot (they are taken densely), searched upward from the mark. */
  async used(key: string): Promise<number> {
    const mark = (await this.#marks.findOne({ _id: key }))?.high ?? 0;
    let low = Math.max(mark, (this.#next.get(key) ?? 1) - 1);
    if (low > 0 && !(await this.#exists(key, low))) low = 0;
    let step = 1;
    while (await this.#exists(key, low + step)) {
      low += step;
      step *= 2;
    }
    let high = low + step;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (await this.#exists(key, middle)) low = middle;
      else high = middle;
    }
    return low;
  }

  /** Drops the slots and marks of days before `day` (once per day per process); counters are per day. */
  async #forgetBefore(day: string): Promise<void> {
    if (this.#cleanedFor === day) return;
    this.#cleanedFor = day;
    for (const key of this.#next.keys()) if (!key.endsWith(`|${day}`)) this.#next.delete(key);
    await this.#collection.deleteMany({ day: { $lt: day } });
    await this.#marks.deleteMany({ day: { $lt: day } });
  }
}

/** Daily quota of grants, counted in subjects served. */
export class QuotaCounter {
  readonly #slots: SlotStore;

  constructor(slots: SlotStore) {
    this.#slots = slots;
  }

  /** Reserves up to `n` units of the grant's quota for `day`; returns how many it got (0…n). */
  async reserve(grant: string, day: string, n: number, limit: number): Promise<number> {
    return (await this.#slots.take(`q|${grant}|${day}`, day, n, limit, true)).length;
  }

  used(grant: string, day: string): Promise<number> {
    return this.#slots.used(`q|${grant}|${day}`);
  }
}

/** Verification attempts (核验) per (system, subject, resource) per day. */
export class AttemptCounter {
  readonly #slots: SlotStore;

  constructor(slots: SlotStore) {
    this.#slots = slots;
  }

  /** Counts one attempt; returns its number (1-based), or null past `limit` (then nothing is counted). */
  async attempt(key: { system: string; subject: string; resource: string }, day: string, limit: number): Promise<number | null> {
    // A handful of slots per counter (5 by default): no mark needed, probing from slot 1 is cheap.
    const [slot] = await this.#slots.take(`v|${key.system}|${key.resource}|${key.subject}|${day}`, day, 1, limit, limit > 64);
    return slot ?? null;
  }
}
