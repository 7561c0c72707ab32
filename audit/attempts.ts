/**
 * Verification attempts (核验) per (system, resource, subject) per day, counted by the evidence
 * itself. Repeated guesses recover a value (365 tries find a birth date), so attempts are limited,
 * exactly across every hub instance, and each is numbered in its record.
 *
 * Attempt n of a counter is the record of that attempt written with the claim `<counter>#<n>` as its
 * block's `_id` (writer.ts, Claims): the unique `_id` lets exactly one document, of any instance,
 * hold it, and the same insert makes the record durable. So an attempt costs one commit, the one
 * its record costs anyway (before, a slot document was inserted first and the record after it: two
 * commits in sequence). Numbers are taken densely from 1: a process hands them out in order from
 * memory, and a claim another instance took moves it past that number (a fresh process probes
 * from 1: at most `limit` writes, 5 by default). No number above the limit is ever claimed, so at
 * most `limit` attempts are answered, under any concurrency. A refused request (limit reached)
 * writes its own record, which claims nothing.
 *
 * An attempt whose write failed otherwise (database unreachable, deadline) may or may not have
 * landed; its number is not handed out again by this process (at worst the subject's system has one
 * attempt fewer that day: the safe direction for a limit on guessing).
 */
import type { AccessRecord } from './record.ts';
import { ClaimTakenError, type AuditWriter } from './writer.ts';

export interface AttemptKey {
  readonly system: string;
  readonly resource: string;
  /** The subject's keyed hash, never the raw identifier. */
  readonly subject: string;
}

/** The counter of a key on a day, as claims name it. */
export const attemptCounter = (key: AttemptKey, day: string): string => `v|${key.system}|${key.resource}|${key.subject}|${day}`;

export class VerificationAttempts {
  readonly #writer: Pick<AuditWriter, 'append'>;
  /** The next number to try, per counter of the current day. */
  readonly #next = new Map<string, number>();
  #day = '';

  constructor(writer: Pick<AuditWriter, 'append'>) {
    this.#writer = writer;
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
    const counter = attemptCounter(key, day);
    for (;;) {
      const n = this.#take(counter, day, true);
      if (n > limit) return null;
      try {
        await this.#writer.append(build(n), `${counter}#${n}`);
        return n;
      } catch (error) {
        if (!(error instanceof ClaimTakenError)) throw error;
        // Another instance holds n: this process's numbers go on after it (already past n).
      }
    }
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
