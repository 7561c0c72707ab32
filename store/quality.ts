/**
 * Data-quality counters (数据质量): per resource and day, how many records the departments returned,
 * how many item values passed the catalogue's types and how many were withheld as UPSTREAM_INVALID
 * (per item), how many subjects got two different records, how many reads failed. The only module
 * that reads or writes `quality_counts`.
 *
 * No database write per request: each hub process counts in memory and writes its totals every
 * `quality.flushSeconds` and when it closes, into documents only it writes (`_id` =
 * `<process>|<day>|<resource>`). A flush `$set`s the process's running totals (not `$inc`): it is
 * idempotent, so a flush whose answer was lost is simply repeated, and no two writers ever update
 * one document (FerretDB 1.24 loses concurrent updates of one document, see quotas.ts). A report
 * sums the documents of every process. Another process's last `flushSeconds` of counts are not in
 * a report yet; a process that dies loses at most that much.
 */
import type { AnyBulkWriteOperation, Collection, Db } from 'mongodb';
import { daysBefore } from '../policies/calendar.ts';

export const QUALITY_COLLECTION = 'quality_counts';

/** What one read contributes to its resource's counters. */
export interface QualityDelta {
  /** Records the department returned (one per subject answered). */
  readonly records?: number;
  /** Item values checked against their types. */
  readonly items?: number;
  /** Items withheld as UPSTREAM_INVALID (each name counted once per record). */
  readonly invalidItems?: readonly string[];
  /** A subject answered with two different records: neither served. */
  readonly conflicting?: boolean;
  /** The read failed: department unavailable or too slow. */
  readonly failed?: boolean;
}

export interface QualityTotals {
  records: number;
  invalidRecords: number;
  conflictingRecords: number;
  failedReads: number;
  items: number;
  invalidItems: number;
  /** Item name → values withheld as UPSTREAM_INVALID. */
  invalidByItem: Record<string, number>;
}

interface QualityDoc extends QualityTotals {
  _id: string;
  process: string;
  day: string;
  resource: string;
  at: Date;
}

export const emptyTotals = (): QualityTotals => ({
  records: 0, invalidRecords: 0, conflictingRecords: 0, failedReads: 0, items: 0, invalidItems: 0, invalidByItem: {},
});

export function addTotals(into: QualityTotals, from: QualityTotals): void {
  into.records += from.records;
  into.invalidRecords += from.invalidRecords;
  into.conflictingRecords += from.conflictingRecords;
  into.failedReads += from.failedReads;
  into.items += from.items;
  into.invalidItems += from.invalidItems;
  for (const [item, n] of Object.entries(from.invalidByItem)) into.invalidByItem[item] = (into.invalidByItem[item] ?? 0) + n;
}

/** Days a process keeps its totals in memory: a request that began before midnight still counts on its day. */
const KEEP_DAYS = 2;
/** Counts older than this many days are removed (a report covers at most 366 days). */
export const QUALITY_RETENTION_DAYS = 400;


export class QualityCounter {
  readonly #collection: Collection<QualityDoc>;
  readonly #process: string;
  readonly #onError: (error: unknown) => void;
  /** `<day>|<resource>` → this process's totals since it started. */
  readonly #totals = new Map<string, { day: string; resource: string; totals: QualityTotals }>();
  readonly #dirty = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #again = false;
  #cleanedFor = '';

  constructor(db: Db, options: { process: string; onError: (error: unknown) => void }) {
    this.#collection = db.collection<QualityDoc>(QUALITY_COLLECTION);
    this.#process = options.process;
    this.#onError = options.onError;
  }

  async ensureIndexes(): Promise<void> {
    await this.#collection.createIndex({ resource: 1, day: 1 }, { name: 'resource_day' });
  }

  /** Counts one read, in memory (no I/O). */
  count(resource: string, day: string, delta: QualityDelta): void {
    const key = `${day}|${resource}`;
    let entry = this.#totals.get(key);
    if (!entry) {
      entry = { day, resource, totals: emptyTotals() };
      this.#totals.set(key, entry);
    }
    const t = entry.totals;
    const invalid = delta.invalidItems ?? [];
    t.records += delta.records ?? 0;
    t.items += delta.items ?? 0;
    t.invalidItems += invalid.length;
    if (invalid.length > 0) t.invalidRecords += 1;
    for (const item of invalid) t.invalidByItem[item] = (t.invalidByItem[item] ?? 0) + 1;
    if (delta.conflicting) t.conflictingRecords += 1;
    if (delta.failed) t.failedReads += 1;
    this.#dirty.add(key);
  }

  /** Flushes every `intervalMs` until closed. */
  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.flush().catch(this.#onError), intervalMs);
    this.#timer.unref();
  }

  /**
   * Writes the changed totals. One flush at a time; a call during a flush runs another after it,
   * so what was counted before the call is written when it resolves. A failed write keeps its
   * totals marked for the next flush.
   */
  flush(): Promise<void> {
    if (this.#flushing) {
      this.#again = true;
      return this.#flushing;
    }
    this.#flushing = (async () => {
      try {
        do {
          this.#again = false;
          await this.#write();
        } while (this.#again);
      } finally {
        this.#flushing = undefined;
      }
    })();
    return this.#flushing;
  }

  async #write(): Promise<void> {
    const keys = [...this.#dirty];
    this.#dirty.clear();
    if (keys.length > 0) {
      const at = new Date();
      const ops: AnyBulkWriteOperation<QualityDoc>[] = keys.map((key) => {
        const { day, resource, totals } = this.#totals.get(key)!;
        return {
          updateOne: {
            filter: { _id: `${this.#process}|${key}` },
            update: { $set: { process: this.#process, day, resource, at, ...structuredClone(totals) } },
            upsert: true,
          },
        };
      });
      try {
        await this.#collection.bulkWrite(ops, { ordered: false });
      } catch (error) {
        for (const key of keys) this.#dirty.add(key);
        throw error;
      }
    }
    // Days past a request's reach are written and need no more memory.
    const days = [...new Set([...this.#totals.values()].map((e) => e.day))].sort().reverse();
    const keep = new Set(days.slice(0, KEEP_DAYS));
    for (const [key, entry] of this.#totals) if (!keep.has(entry.day) && !this.#dirty.has(key)) this.#totals.delete(key);
    // Once a day per process: counts past the retention go (nobody writes them any more).
    const newest = days[0];
    if (newest !== undefined && newest !== this.#cleanedFor) {
      await this.#collection.deleteMany({ day: { $lt: daysBefore(newest, QUALITY_RETENTION_DAYS) } });
      this.#cleanedFor = newest;
    }
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /** The sums of every process, per day, for one resource over `from`…`to` (inclusive). */
  async perDay(resource: string, from: string, to: string, timeoutMs: number): Promise<Map<string, QualityTotals>> {
    const docs = await this.#collection
      .find({ resource, day: { $gte: from, $lte: to } }, { projection: { _id: 0, process: 0, at: 0, resource: 0 }, maxTimeMS: timeoutMs, signal: AbortSignal.timeout(timeoutMs) })
      .toArray();
    const out = new Map<string, QualityTotals>();
    for (const doc of docs) {
      const sum = out.get(doc.day) ?? emptyTotals();
      addTotals(sum, { ...emptyTotals(), ...doc, invalidByItem: doc.invalidByItem ?? {} });
      out.set(doc.day, sum);
    }
    return out;
  }
}
