/**
 * Change propagation between hub instances. Every management change (grant, application, catalogue
 * entry, token) increments one shared counter in MongoDB; every instance polls that single
 * document every `sync.pollMilliseconds` and reloads what changed. This works on MongoDB and on
 * FerretDB 1.24 alike (no change streams needed), costs one indexed point read per poll, and
 * bounds propagation by the poll interval plus one reload.
 *
 * The document carries a random token per change, compared for equality (never a counter compared
 * for order): FerretDB 1.24 may lose one of two concurrent updates of a document, and a token still
 * changes whoever wins. An instance reloads on every token change, its own included, so a change
 * whose signal was overwritten is still picked up by the reload the winner's signal triggers.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import { retryOnDuplicate } from './duplicates.ts';

export const STATE_COLLECTION = 'hub_state';
const REVISION_ID = 'revision';

interface RevisionDoc {
  _id: string;
  token: string;
  at: Date;
  /** What changed last: `grants`, `catalogue`, `tokens` … (for operators reading the document). */
  last: string;
}

/** Signals a change to every instance (call after the change itself is durable). */
export async function bumpRevision(db: Db, what: string): Promise<void> {
  await retryOnDuplicate(() => db.collection<RevisionDoc>(STATE_COLLECTION).updateOne(
    { _id: REVISION_ID },
    { $set: { token: randomUUID(), at: new Date(), last: what } },
    { upsert: true, writeConcern: { w: 'majority', journal: true } },
  ));
}

export async function currentRevision(db: Db, timeoutMs: number): Promise<string> {
  // A client-side deadline too: a stalled server must not leave the watcher waiting forever.
  const doc = await db.collection<RevisionDoc>(STATE_COLLECTION).findOne({ _id: REVISION_ID }, { maxTimeMS: timeoutMs, projection: { token: 1 }, signal: AbortSignal.timeout(timeoutMs) });
  return doc?.token ?? '';
}

/**
 * Polls the revision and calls `onChange` when it moved. One poll at a time; a failed poll or
 * reload is reported and retried at the next tick (the instance keeps its last known state).
 */
export class RevisionWatcher {
  readonly #db: Db;
  readonly #intervalMs: number;
  readonly #onChange: () => Promise<void>;
  readonly #onError: (error: unknown) => void;
  #seen: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(db: Db, options: { intervalMs: number; onChange: () => Promise<void>; onError: (error: unknown) => void }) {
    this.#db = db;
    this.#intervalMs = options.intervalMs;
    this.#onChange = options.onChange;
    this.#onError = options.onError;
  }

  /** Reads the current revision without reloading (call once the initial state is loaded). */
  async prime(): Promise<void> {
    this.#seen = await currentRevision(this.#db, Math.max(1000, this.#intervalMs * 4));
  }

  start(): void {
    this.stop();
    this.#timer = setInterval(() => void this.check(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Checks now; resolves when any reload it started is done. */
  check(): Promise<void> {
    this.#running ??= (async () => {
      try {
        const n = await currentRevision(this.#db, Math.max(1000, this.#intervalMs * 4));
        if (n !== this.#seen) {
          await this.#onChange();
          this.#seen = n;
        }
      } catch (error) {
        this.#onError(error);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }
}
