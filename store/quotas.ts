/**
 * Counters that must hold exactly across hub instances: a grant's daily quota (subjects served per
 * day). (Verification attempts are counted by the evidence itself: audit/attempts.ts.)
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
 * Leases. Above the first LEASE_FROM (1 024) units of a counter, one slot document claims a
 * block of LEASE_SIZE (64) units at once (`_id` = `<counter>#<first unit>`), and the process that
 * inserted it hands those units out from memory: a busy grant costs one insert per 64 subjects
 * instead of one per subject. The block layout is a constant, the same in every hub process and for
 * every limit: were it configurable or derived from the limit, two processes could claim
 * overlapping blocks and serve more than the quota. What a lease changes, and only for a counter
 * past 1 024 units a day: no unit above the limit is ever handed out (a block reaching past it is
 * used up to the limit), but units of a block another process holds are not available to this one,
 * so near the limit one process may refuse while another can still serve up to 63 more; units of a
 * lease held by a process that stops are not used that day; and `used` counts leased units as used.
 * Counters of at most 1 024 a day (most quotas) are exact to the unit, as before.
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

/** Units 1…LEASE_FROM are claimed one by one; above it, in blocks of LEASE_SIZE. Never change these. */
export const LEASE_FROM = 1024;
export const LEASE_SIZE = 64;

/** The first unit of the slot document that holds unit `n`. */
export function slotStart(n: number): number {
  return n <= LEASE_FROM ? n : LEASE_FROM + 1 + Math.floor((n - LEASE_FROM - 1) / LEASE_SIZE) * LEASE_SIZE;
}

/** The last unit of the slot document starting at `start`. */
function slotEnd(start: number): number {
  return start <= LEASE_FROM ? start : start + LEASE_SIZE - 1;
}

interface SlotDoc {
  _id: string;
  /** The counter: `q|<grant>|<day>`. */
  key: string;
  day: string;
  /** First unit held by this document. */
  slot: number;
  /** Last unit (present on leased blocks). */
  end?: number;
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
  /** Units of leased blocks not handed out yet, per counter (`next` … `end`). */
  readonly #leases = new Map<string, { next: number; end: number }>();
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
    // Units of a block this process leased are handed out without a round trip.
    const leased = this.#fromLease(key, n, limit);
    if (leased.length === n) return Promise.resolve(leased);
    return new Promise((resolve, reject) => {
      // A stalled server must give a clear error in time: past the deadline the caller is refused,
      // and a want not yet written is dropped (one in flight may still land: a unit spent, unserved).
      const timer = setTimeout(() => {
        want.abandoned = true;
        reject(new Error(`counter reservation missed its ${this.#deadlineMs} ms deadline`));
      }, this.#deadlineMs);
      const want: Want = {
        key, day, limit, marks, remaining: n - leased.length, taken: leased, collided: false, abandoned: false,
        resolve: (slots) => { clearTimeout(timer); resolve(slots); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      };
      this.#queue.push(want);
      this.#schedule();
    });
  }

  /** Up to `n` units of this process's lease of `key`, at most up to `limit`. */
  #fromLease(key: string, n: number, limit: number): number[] {
    const lease = this.#leases.get(key);
    if (lease === undefined) return [];
    const out: number[] = [];
    while (out.length < n && lease.next <= lease.end && lease.next <= limit) out.push(lease.next++);
    if (lease.next > lease.end) this.#leases.delete(key);
    return out;
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
      // Per counter, in order: first what a lease (taken in an earlier flush) still holds, then the
      // slot documents to insert for the rest: single units up to LEASE_FROM, blocks above it.
      const byKey = new Map<string, Want[]>();
      for (const w of batch) {
        const more = this.#fromLease(w.key, w.remaining, w.limit);
        w.taken.push(...more);
        w.remaining -= more.length;
        const wants = byKey.get(w.key);
        if (wants === undefined) byKey.set(w.key, [w]);
        else wants.push(w);
      }
      const docs: SlotDoc[] = [];
      for (const [key, wants] of byKey) {
        const first = wants[0]!;
        const limit = Math.max(...wants.map((w) => w.limit));
        let need = wants.reduce((sum, w) => sum + w.remaining, 0);
        let next = await this.#start(first);
        while (need > 0 && next <= limit) {
          const start = slotStart(next);
          const end = slotEnd(start);
          docs.push(end === start ? { _id: `${key}#${start}`, key, day: first.day, slot: start } : { _id: `${key}#${start}`, key, day: first.day, slot: start, end });
          need -= Math.min(end, limit) - Math.max(next, start) + 1;
          next = end + 1;
        }
        this.#next.set(key, next);
      }
      let failed = new Set<number>();
      if (docs.length > 0) {
        try {
          await this.#collection.insertMany(docs, { ordered: false });
        } catch (error) {
          failed = failedIndexes(error, docs.length);
        }
      }
      // Units of the documents this process inserted, per counter, to hand out in order.
      const won = new Map<string, number[]>();
      docs.forEach((doc, i) => {
        if (failed.has(i)) {
          for (const w of byKey.get(doc.key)!) w.collided = true; // taken by another instance: it is behind us now, like ours
          return;
        }
        const units = won.get(doc.key) ?? [];
        for (let u = doc.slot; u <= (doc.end ?? doc.slot); u++) units.push(u);
        won.set(doc.key, units);
      });
      for (const [key, units] of won) {
        for (const w of byKey.get(key)!) {
          while (w.remaining > 0 && units.length > 0 && units[0]! <= w.limit) {
            w.taken.push(units.shift()!);
            w.remaining--;
          }
        }
        // What is left of a block is this process's lease (single units never are: none is left).
        if (units.length > 0) this.#leases.set(key, { next: units[0]!, end: units[units.length - 1]! });
      }
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
      for (const w of batch) {
        this.#next.delete(w.key);
        this.#leases.delete(w.key);
      }
      for (const w of batch) w.reject(error);
    } finally {
      this.#flushing = false;
      if (this.#queue.length > 0) this.#schedule();
    }
  }

  async #exists(key: string, slot: number): Promise<boolean> {
    return (await this.#collection.findOne({ _id: `${key}#${slotStart(slot)}` }, { projection: { _id: 1 } })) !== null;
  }

  /**
   * Slots taken so far: the highest slot (they are taken densely), searched upward from the mark;
   * leased blocks count whole, less what this process has not handed out of its own lease.
   */
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
    // What this process still holds of its lease is not used yet (other processes' leases count).
    const lease = this.#leases.get(key);
    return lease !== undefined && lease.end <= low ? low - (lease.end - lease.next + 1) : low;
  }

  /** Drops the slots and marks of days before `day` (once per day per process); counters are per day. */
  async #forgetBefore(day: string): Promise<void> {
    if (this.#cleanedFor === day) return;
    this.#cleanedFor = day;
    for (const key of this.#next.keys()) if (!key.endsWith(`|${day}`)) this.#next.delete(key);
    for (const key of this.#leases.keys()) if (!key.endsWith(`|${day}`)) this.#leases.delete(key);
    await this.#collection.deleteMany({ day: { $lt: day } });
    await this.#marks.deleteMany({ day: { $lt: day } });
  }
}

/** Daily quota of grants, counted in subjects served. */
export class QuotaCounter {
  readonly #slots: SlotStore;
  readonly #onReserve: ((grant: string, granted: number, asked: number) => void) | undefined;

  /** `onReserve`: after each reservation, for metrics (units this process handed out). */
  constructor(slots: SlotStore, options: { onReserve?: (grant: string, granted: number, asked: number) => void } = {}) {
    this.#slots = slots;
    this.#onReserve = options.onReserve;
  }

  /** Reserves up to `n` units of the grant's quota for `day`; returns how many it got (0…n). */
  async reserve(grant: string, day: string, n: number, limit: number): Promise<number> {
    const granted = (await this.#slots.take(`q|${grant}|${day}`, day, n, limit, true)).length;
    try {
      this.#onReserve?.(grant, granted, n);
    } catch {
      // A metrics listener's failure must not fail a reservation.
    }
    return granted;
  }

  used(grant: string, day: string): Promise<number> {
    return this.#slots.used(`q|${grant}|${day}`);
  }
}
