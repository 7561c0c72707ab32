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
 * bottom (a collision moves the caller past the slots others took), so the count of documents is
 * the use so far. A refused request inserts nothing, so it consumes nothing.
 */
import { MongoBulkWriteError, MongoServerError, type Collection, type Db } from 'mongodb';

export const QUOTA_COLLECTION = 'quota_slots';
export const ATTEMPT_COLLECTION = 'verify_attempts';

interface SlotDoc {
  _id: string;
  /** The counter: `<grant>|<day>` or `<system>|<resource>|<subject hash>|<day>`. */
  key: string;
  day: string;
  slot: number;
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

/** Slot counters on one collection, with a per-process hint of the next free slot per counter. */
class SlotCounter {
  readonly #collection: Collection<SlotDoc>;
  readonly #next = new Map<string, number>();
  #cleanedFor = '';

  constructor(db: Db, name: string) {
    this.#collection = db.collection<SlotDoc>(name);
  }

  async ensureIndexes(): Promise<void> {
    await this.#collection.createIndex({ key: 1 }, { name: 'key' });
    await this.#collection.createIndex({ day: 1 }, { name: 'day' });
  }

  /** Takes up to `n` slots of `key` within `limit`; returns the slot numbers taken (fewer when the limit is reached). */
  async take(key: string, day: string, n: number, limit: number): Promise<number[]> {
    const taken: number[] = [];
    let next = this.#next.get(key) ?? (await this.used(key)) + 1;
    while (taken.length < n && next <= limit) {
      const want = Math.min(n - taken.length, limit - next + 1);
      const slots = Array.from({ length: want }, (_, i) => next + i);
      let failed = new Set<number>();
      try {
        await this.#collection.insertMany(slots.map((slot) => ({ _id: `${key}#${slot}`, key, day, slot })), { ordered: false });
      } catch (error) {
        failed = failedIndexes(error, slots.length);
      }
      slots.forEach((slot, i) => { if (!failed.has(i)) taken.push(slot); });
      next += want;
      // Others took some of these slots: skip past everything taken so far.
      if (failed.size > 0) next = Math.max(next, (await this.used(key)) + 1);
    }
    this.#next.set(key, next);
    if (this.#next.size > 100_000) this.#next.clear();
    return taken;
  }

  used(key: string): Promise<number> {
    return this.#collection.countDocuments({ key });
  }

  /** Drops the slots of days before `day` (once per day per process); counters are per day. */
  async forgetBefore(day: string): Promise<void> {
    if (this.#cleanedFor === day) return;
    this.#cleanedFor = day;
    for (const key of this.#next.keys()) if (!key.endsWith(`|${day}`)) this.#next.delete(key);
    await this.#collection.deleteMany({ day: { $lt: day } });
  }
}

/** Daily quota of grants, counted in subjects served. */
export class QuotaCounter {
  readonly #slots: SlotCounter;

  constructor(db: Db) {
    this.#slots = new SlotCounter(db, QUOTA_COLLECTION);
  }

  ensureIndexes(): Promise<void> {
    return this.#slots.ensureIndexes();
  }

  /** Reserves up to `n` units of the grant's quota for `day`; returns how many it got (0…n). */
  async reserve(grant: string, day: string, n: number, limit: number): Promise<number> {
    void this.#slots.forgetBefore(day).catch(() => undefined);
    return (await this.#slots.take(`${grant}|${day}`, day, n, limit)).length;
  }

  used(grant: string, day: string): Promise<number> {
    return this.#slots.used(`${grant}|${day}`);
  }
}

/** Verification attempts (核验) per (system, subject, resource) per day. */
export class AttemptCounter {
  readonly #slots: SlotCounter;

  constructor(db: Db) {
    this.#slots = new SlotCounter(db, ATTEMPT_COLLECTION);
  }

  ensureIndexes(): Promise<void> {
    return this.#slots.ensureIndexes();
  }

  /** Counts one attempt; returns its number (1-based), or null past `limit` (then nothing is counted). */
  async attempt(key: { system: string; subject: string; resource: string }, day: string, limit: number): Promise<number | null> {
    void this.#slots.forgetBefore(day).catch(() => undefined);
    const [slot] = await this.#slots.take(`${key.system}|${key.resource}|${key.subject}|${day}`, day, 1, limit);
    return slot ?? null;
  }
}
