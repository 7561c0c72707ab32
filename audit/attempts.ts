/**
 * Verification attempts (核验) per (system, resource, subject) per day, counted by the evidence
 * itself. Repeated guesses recover a value (365 tries find a birth date), so attempts are limited,
 * exactly across every hub instance, and each is numbered in its record.
 *
 * Attempt n of a counter is the record of that attempt appended with the claim `<counter>#<n>`
 * (writer.ts, Claims): a document whose unique `_id` is the claim, written in the same ordered
 * insert as the record, just before it: exactly one document, of any instance, holds it, and the
 * insert makes the record durable. So an attempt costs one commit, the one its record costs
 * anyway, shared with the other records of its write (before, a slot document was inserted first
 * and the record after it: two commits in sequence). Numbers are taken densely from 1: a process hands them out in order from
 * memory, and a claim another instance took moves it past that number (a fresh process probes
 * from 1: at most `limit` writes, 5 by default; for limits above 64, a lossy high-water mark per
 * counter, raised every 64 attempts, lets it start at most 63 below the top after its first
 * collision instead: each probe is a write its request waits for, each raise an upsert, which
 * FerretDB makes dear: every 16 cost the bench's `verify` 6 % of its throughput).
 * No number above the limit is ever claimed, so at most `limit` attempts are answered, under any
 * concurrency. A refused request (limit reached) writes its own record, which claims nothing.
 *
 * An attempt whose write failed otherwise (database unreachable, deadline), or whose process died
 * in it, may have taken its claim without its record; its number is not handed out again by this
 * process (at worst the subject's system has one attempt fewer that day: the safe direction for a
 * limit on guessing). Claims serve their day: the first attempt of a day drops those of the days
 * before the day before (one day of slack for clocks that differ), in the background.
 */
import type { Collection } from 'mongodb';
import { daysBefore } from '../policies/calendar.ts';
import type { AccessRecord } from './record.ts';
import { ClaimTakenError, type AuditWriter } from './writer.ts';

/** Limits above this keep a mark; a mark is raised every MARK_EVERY attempts. */
const MARK_EVERY = 64;

/** A counter's high-water mark: the layout of the quota slots' marks (store/quotas.ts), which share their collection and daily clean-up. */
export interface AttemptMarkDoc {
  readonly _id: string;
  readonly high: number;
  readonly day: string;
}

export interface AttemptKey {
  readonly system: string;
  readonly resource: string;
  /** The subject's keyed hash, never the raw identifier. */
  readonly subject: string;
}

/** The counter of a key on a day, as claims name it. */
export const attemptCounter = (key: AttemptKey, day: string): string => `v|${key.system}|${key.resource}|${key.subject}|${day}`;

export class VerificationAttempts {
  readonly #writer: Pick<AuditWriter, 'append' | 'forgetClaims'>;
  readonly #marks: Collection<AttemptMarkDoc> | undefined;
  /** The next number to try, per counter of the current day. */
  readonly #next = new Map<string, number>();
  #day = '';
  /** The day whose earlier claims this process has dropped (or is dropping). */
  #forgotten = '';

  /** `marks`: where the marks of limits above MARK_EVERY are kept (without: none, probing from 1). */
  constructor(writer: Pick<AuditWriter, 'append' | 'forgetClaims'>, marks?: Collection<AttemptMarkDoc>) {
    this.#writer = writer;
    this.#marks = marks;
  }

  /** Whether this process knows the limit is reached today (a request is then refused before anything else). */
  exhausted(key: AttemptKey, day: string, limit: number): boolean {
    return this.#take(attemptCounter(key, day), day, false) > limit;
  }

  /**
   * Writes the record of the next attempt (`build(n)` makes it for number n) as claim n; resolves
   * with n once it is durable, or null when the limit is reached (nothing written). Rejects as the
   * writer does otherwise (AuditUnavailableError).
   */
  async record(key: AttemptKey, day: string, limit: number, build: (attempt: number) => AccessRecord): Promise<number | null> {
    if (this.#forgotten !== day) {
      this.#forgotten = day;
      // Lossy (a failure, or a day that is not a date, only leaves claims that take room; the next
      // process, or tomorrow, drops them).
      void Promise.resolve().then(() => this.#writer.forgetClaims(daysBefore(day, 1))).catch(() => undefined);
    }
    const counter = attemptCounter(key, day);
    const marked = this.#marks !== undefined && limit > MARK_EVERY;
    for (let probing = false; ; probing = true) {
      const n = this.#take(counter, day, true);
      if (n > limit) return null;
      try {
        await this.#writer.append(build(n), { id: `${counter}#${n}`, day }, probing);
        if (marked && n % MARK_EVERY === 0) await this.#raise(counter, day, n);
        return n;
      } catch (error) {
        if (!(error instanceof ClaimTakenError)) throw error;
        // Another instance holds n: this process's numbers go on after it (already past n), from
        // the counter's mark on if it has one (first collision only: a mark is at most 63 behind).
        if (marked && !probing) await this.#skipTo(counter, day);
      }
    }
  }

  /** Moves the counter's next number past its mark (a lost read only costs more collisions). */
  async #skipTo(counter: string, day: string): Promise<void> {
    const mark = await this.#marks!.findOne({ _id: counter }).catch(() => null);
    if (mark !== null && mark.high + 1 > this.#take(counter, day, false)) this.#next.set(counter, mark.high + 1);
  }

  /** Raises the counter's mark (lossy: a failed raise only costs a later process more collisions). */
  async #raise(counter: string, day: string, high: number): Promise<void> {
    await this.#marks!.updateOne({ _id: counter }, { $max: { high }, $setOnInsert: { day } }, { upsert: true }).catch(() => undefined);
  }

  /** The next number of the counter, handed out (`advance`) or only looked at. */
  #take(counter: string, day: string, advance: boolean): number {
    if (day !== this.#day || this.#next.size > 100_000) {
      this.#next.clear();
      this.#day = day;
    }
    const n = this.#next.get(counter) ?? 1;
    if (advance) this.#next.set(counter, n + 1);
    return n;
  }
}
