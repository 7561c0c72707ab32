/**
 * Group-commit writer of access evidence. `append` resolves only once the record is durably in
 * MongoDB. Records appended in the same tick are written together as one evidence block (one
 * document holding up to `maxBatch` records), in the manner of X-Road's message-log batches: one
 * write, one index entry per block, and a natural unit for the signed chain to come. If MongoDB
 * refuses the write, every waiting append rejects with AuditUnavailableError, and the caller serves
 * no data.
 *
 * Crash safety: blocks are written in sequence order, one write at a time (a write carries up to
 * `maxInFlight` blocks as one ordered insert), and a failed write is settled (its blocks found
 * landed, or replaced by fillers) before the next one goes out. Whenever the process dies, the log
 * in MongoDB is therefore a gap-free prefix: every block of it was acknowledged, or was the last
 * write, which lands whole, in part from its start (ordered), or not at all. Concurrent writes
 * would not give this: a server may apply a later block and never the earlier one of a client
 * that died (MongoDB interrupts a disconnected client's operations; a network reorders), leaving
 * a gap that nothing fills and that verification rightly reports as deleted records.
 *
 * Claims. A record appended with a claim (`append(record, claim)`) has the claim taken in the same
 * ordered insert that writes its record: the claim is a small document of its own whose `_id` is
 * the claim's (`{ _id, day }`), placed before the blocks of the write, and the record goes into the
 * write's shared block with the others. The unique `_id` lets exactly one document, of any
 * instance, hold a claim, and the order makes the claim land before the record, never the record
 * without its claim (a verification attempt is counted by the insert that records it: one commit,
 * not two). A claim another document holds stops the ordered insert there, before any block: the
 * claims before it are held (their records go into the next write without a claim), its append
 * rejects with ClaimTakenError (its caller may try the next claim), and every block's records go
 * back to the head of the queue with their sequence numbers given back: the log stays gap-free.
 * A claim can land without its record (the process dies, or the write fails, after the claims):
 * an attempt counted and never answered, the safe direction for a limit. Claims serve one day;
 * `forgetClaims` drops those of days before.
 */
import { MongoBulkWriteError, type Collection, type Db, type WriteConcern } from 'mongodb';
import { encodeBlock, fillerBlock, leavesOf, type SummaryForm } from './encoding.ts';
import { EvidenceLog, newOrigin } from './log.ts';
import type { AccessRecord, EvidenceBlock } from './record.ts';

export const ACCESS_COLLECTION = 'audit_access';

/**
 * After a write, fewer records than this waiting wait for the current turn of the event loop to
 * end before the next write goes out (bench/README.md, lever 13: `verify` 1.04–1.18 ×, `one`
 * 0.98–1.14 × paired; with none waiting that long, `batch` 0.90 ×).
 */
const NEXT_TURN_BELOW = 128;

export class AuditUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('The audit trail cannot be written, so no data is served. Try again later.', options);
    this.name = 'AuditUnavailableError';
  }
}

/** What a record appended with one claims (see Claims above): its `_id`, and the day it serves. */
export interface Claim {
  readonly id: string;
  /** `YYYY-MM-DD`; `forgetClaims` drops the claims of days before a given one. */
  readonly day: string;
}

/** The stored document of a claim, in the evidence collection beside the blocks (no `log`: no reader of evidence takes it for a block). */
export interface ClaimDoc {
  readonly _id: string;
  readonly day: string;
}

/** The claim of a record appended with one is held by another document: the record was not written. */
export class ClaimTakenError extends Error {
  readonly claim: string;

  constructor(claim: string) {
    super(`claim ${claim} is taken`);
    this.name = 'ClaimTakenError';
    this.claim = claim;
  }
}

export interface AuditWriterOptions {
  /** Most records per evidence block, i.e. per write (default 1024). */
  readonly maxBatch?: number;
  /**
   * Blocks per write (default 2): when more than `maxBatch` records wait, one ordered insert carries
   * up to this many blocks. Writes never overlap (see above), so this is what keeps a backlog moving.
   */
  readonly maxInFlight?: number;
  /**
   * How long the records waiting for a write may wait for more before it goes out (ms, default 0:
   * none), counted from the oldest; a full block goes at once. Fewer, larger blocks cost the
   * database less per record, each request waits up to this much longer.
   */
  readonly lingerMs?: number;
  /** Write concern for evidence (default majority, journaled). */
  readonly writeConcern?: WriteConcern;
  /** Called after each failed batch, for logs and metrics (no record content). */
  readonly onError?: (error: unknown, batchSize: number) => void;
  /** Called after each successful write, for metrics: the records of each block it carried, and how long it took (ms). */
  readonly onCommit?: (blockSizes: readonly number[], ms: number) => void;
  /**
   * How long an append may wait, queued or in flight, before it fails with AuditUnavailableError
   * (default 2000 ms). The request then gets no data. A write still in flight past its deadline may
   * land later; its records then overstate, never understate, what was served.
   */
  readonly deadlineMs?: number;
  /** The log the blocks belong to (sequence numbers, leaves, checkpoints); default: an unsigned one of its own. */
  readonly log?: EvidenceLog;
  /** How blocks store their summaries (audit/encoding.ts): `fields` (default; MongoDB) or `text` (FerretDB). */
  readonly summaries?: SummaryForm;
}

interface Pending {
  readonly record: AccessRecord;
  /** What the record claims (see Claims above). */
  readonly claim?: Claim;
  /** The claim follows one found taken: more likely taken too, so taken after the others. */
  readonly probing?: boolean;
  /** The claim has landed in a write that stopped at another's taken claim: the record is written without it. */
  held: boolean;
  readonly since: number;
  settled: boolean;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

interface Block {
  readonly seq: number;
  readonly batch: Pending[];
  readonly doc: EvidenceBlock;
  readonly leaves: Buffer[];
}

/**
 * The index of the claim an ordered insert stopped at because another document holds it, when that
 * is the one and only thing that went wrong (a duplicate key on one of the `claims` documents that
 * open the insert, everything before it inserted, no write-concern error); undefined for any other
 * failure.
 */
function takenClaimAt(error: unknown, claims: number): number | undefined {
  if (!(error instanceof MongoBulkWriteError) || error.result.getWriteConcernError() !== undefined) return undefined;
  const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  if (errors.length !== 1 || errors[0]!.code !== 11000) return undefined;
  const at = errors[0]!.index;
  if (at >= claims || error.insertedCount !== at) return undefined;
  return at;
}

export class AuditWriter {
  readonly #collection: Collection<EvidenceBlock>;
  readonly #maxBatch: number;
  readonly #summaries: SummaryForm;
  readonly #maxInFlight: number;
  readonly #lingerMs: number;
  #lingering: NodeJS.Timeout | undefined;
  readonly #writeConcern: WriteConcern;
  readonly #onError: AuditWriterOptions['onError'];
  readonly #onCommit: AuditWriterOptions['onCommit'];
  #queue: Pending[] = [];
  /** A write (and, if it failed, the settling of its blocks) is under way; the next waits for it. */
  #writing = false;
  #scheduled = false;
  #closed = false;
  #closing = false;
  /** Ends the pause between attempts to settle a failed block (on close). */
  #wake: (() => void) | undefined;
  #idle: Array<() => void> = [];
  readonly #deadlineMs: number;
  #sweeper: NodeJS.Timeout | undefined;
  /** Records written since start, for metrics and benchmarks. */
  written = 0;
  /** When the last write failed or missed its deadline, while no write has succeeded since (for /ready). */
  failingSince: number | null = null;

  constructor(db: Db, options: AuditWriterOptions = {}) {
    this.#collection = db.collection<EvidenceBlock>(ACCESS_COLLECTION);
    this.#maxBatch = options.maxBatch ?? 1024;
    this.#summaries = options.summaries ?? 'fields';
    this.#maxInFlight = options.maxInFlight ?? 2;
    this.#lingerMs = options.lingerMs ?? 0;
    this.#writeConcern = options.writeConcern ?? { w: 'majority', journal: true };
    this.#onError = options.onError;
    this.#onCommit = options.onCommit;
    this.#deadlineMs = options.deadlineMs ?? 2000;
    this.log = options.log ?? new EvidenceLog(db, { origin: newOrigin('yiwang-hub') });
  }

  readonly log: EvidenceLog;

  /** The write concern evidence is written with (the readiness probe uses the same). */
  get writeConcern(): WriteConcern {
    return this.#writeConcern;
  }

  /** Records queued and not yet in a write (metrics). */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /**
   * Appends one record; resolves when it is durable. With a claim: resolves when the claim is held
   * and the record durable; rejects with ClaimTakenError, the record unwritten, if another holds it.
   * `probing`: the claim follows one found taken (it goes after the other claims of its write, so
   * that a taken one stops no claim that would have landed).
   */
  append(record: AccessRecord, claim?: Claim, probing = false): Promise<void> {
    if (this.#closed) return Promise.reject(new AuditUnavailableError());
    // One record (nearly every append): no lists made for it (on `batch`, 200 appends a request).
    const since = performance.now();
    const wait = new Promise<void>((resolve, reject) => this.#queue.push({ record, claim, probing, held: false, since, settled: false, resolve, reject }));
    this.#schedule();
    this.#watchDeadlines();
    return wait;
  }

  /** Appends records; resolves when all of them are durable. */
  appendMany(records: readonly AccessRecord[]): Promise<void> {
    if (this.#closed) return Promise.reject(new AuditUnavailableError());
    if (records.length === 0) return Promise.resolve();
    const since = performance.now();
    const waits = records.map((record) => new Promise<void>((resolve, reject) => this.#queue.push({ record, claim: undefined, probing: false, held: false, since, settled: false, resolve, reject })));
    this.#schedule();
    this.#watchDeadlines();
    return records.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Wait one macrotask so every resolver of the same execution step joins the batch.
    setImmediate(() => {
      this.#scheduled = false;
      this.#drain();
    });
  }

  /**
   * Fails every append older than the deadline, queued or in flight, once per 50 ms while any is
   * waiting: a stalled server must give a clear AUDIT_UNAVAILABLE in time, never a hung request.
   */
  #watchDeadlines(): void {
    if (this.#sweeper) return;
    this.#sweeper = setInterval(() => {
      const now = performance.now();
      const late = (p: Pending) => !p.settled && now - p.since > this.#deadlineMs;
      let expired = 0;
      for (const p of [...this.#queue, ...this.#inFlightPending]) {
        if (!late(p)) continue;
        p.settled = true;
        expired++;
        p.reject(new AuditUnavailableError());
      }
      if (expired > 0) {
        this.#queue = this.#queue.filter((p) => !p.settled);
        this.failingSince ??= Date.now();
        this.#onError?.(new Error(`audit write missed its ${this.#deadlineMs} ms deadline`), expired);
      }
      if (this.#queue.length === 0 && this.#inFlightPending.size === 0) {
        clearInterval(this.#sweeper);
        this.#sweeper = undefined;
      }
    }, 50);
    this.#sweeper.unref();
  }

  readonly #inFlightPending = new Set<Pending>();

  #drain(): void {
    if (this.#lingering && (this.#closing || this.#queue.length >= this.#maxBatch)) {
      clearTimeout(this.#lingering);
      this.#lingering = undefined;
    }
    if (this.#writing || this.#queue.length === 0 || this.#lingering) return;
    if (this.#lingerMs > 0 && !this.#closing && this.#queue.length < this.#maxBatch) {
      const waited = performance.now() - this.#queue[0]!.since;
      if (waited < this.#lingerMs) {
        this.#lingering = setTimeout(() => {
          this.#lingering = undefined;
          this.#drain();
        }, this.#lingerMs - waited);
        return;
      }
    }
    // Up to maxInFlight blocks of maxBatch records, after the claims of their records not yet held
    // (a taken claim stops the ordered insert before any block), the probing ones last.
    const taken = this.#queue.splice(0, this.#maxBatch * this.#maxInFlight);
    const blocks: Block[] = [];
    for (let i = 0; i < taken.length; i += this.#maxBatch) this.#encode(taken.slice(i, i + this.#maxBatch), blocks);
    const claiming = blocks.flatMap((b) => b.batch).filter((p) => p.claim !== undefined && !p.held);
    const claims = [...claiming.filter((p) => !p.probing), ...claiming.filter((p) => p.probing)];
    if (blocks.length === 0) {
      for (const done of this.#idle.splice(0)) done();
      return;
    }
    this.#writing = true;
    const pending = blocks.flatMap((b) => b.batch);
    for (const p of pending) this.#inFlightPending.add(p);
    void this.#write(claims, blocks).catch((error: unknown) => this.#onError?.(error, 0)).finally(() => {
      for (const p of pending) this.#inFlightPending.delete(p);
      this.#writing = false;
      // Fewer than NEXT_TURN_BELOW waiting (and less than a full block): the next write waits for
      // this turn of the event loop to end, so the requests this write made durable are answered
      // first and what they and the turn's other callbacks append joins it. More: it goes at once
      // (a large write is amortized already, and the turn's work would only delay it).
      if (this.#queue.length >= Math.min(NEXT_TURN_BELOW, this.#maxBatch)) this.#drain();
      else if (this.#queue.length > 0) this.#schedule();
      else for (const done of this.#idle.splice(0)) done();
    });
  }

  /** Numbers and encodes the records as the next block. */
  #encode(taken: Pending[], blocks: Block[]): void {
    // A record with no canonical JSON (only hostile input makes one) fails its own append, never
    // the block or the process: the others are numbered on without it.
    const leftOut = new Set<number>();
    const seq = this.log.nextSeq;
    const encoded = encodeBlock(this.log.origin, seq, taken.map((p) => p.record), undefined, (index) => leftOut.add(index), this.#summaries);
    const batch = leftOut.size === 0 ? taken : taken.filter((_, i) => !leftOut.has(i));
    if (leftOut.size > 0) this.#refuse([...leftOut].map((i) => taken[i]!));
    if (batch.length === 0) return;
    this.log.reserve(batch.length);
    blocks.push({ seq, batch, doc: encoded.doc, leaves: encoded.leaves });
  }

  /** Fails the appends of records that cannot be written at all (see encodeBlock); what the error says holds no record content. */
  #refuse(pending: readonly Pending[]): void {
    const e = new AuditUnavailableError({ cause: new Error('the access record has no canonical JSON (a string that is not well-formed Unicode?)') });
    for (const p of pending) {
      if (p.settled) continue;
      p.settled = true;
      p.reject(e);
    }
    this.#onError?.(e.cause, pending.length);
  }

  /** One write: the claims, then consecutive blocks; on failure, settles every block of it before returning. */
  async #write(claims: readonly Pending[], blocks: readonly Block[]): Promise<void> {
    const started = performance.now();
    try {
      // Ordered: the server applies the documents in turn and stops at the first it cannot.
      const docs = [...claims.map((p): ClaimDoc => ({ _id: p.claim!.id, day: p.claim!.day })), ...blocks.map((b) => b.doc)];
      await this.#collection.insertMany(docs as EvidenceBlock[], { ordered: true, writeConcern: this.#writeConcern });
    } catch (error) {
      const at = takenClaimAt(error, claims.length);
      if (at !== undefined) {
        this.#claimTaken(claims, at, blocks);
        return;
      }
      this.failingSince ??= Date.now();
      const count = blocks.reduce((n, b) => n + b.batch.length, 0);
      this.#onError?.(error, count);
      const e = new AuditUnavailableError({ cause: error });
      for (const b of blocks) {
        for (const p of b.batch) {
          if (p.settled) continue;
          p.settled = true;
          p.reject(e);
        }
      }
      // Which blocks landed is unknown: settle each, in order, before anything else is written
      // (on close, up to the first that cannot be: what follows it stays out, so no gap opens).
      for (const b of blocks) if (!(await this.#settle(b.seq, b.batch.length, b.leaves))) break;
      return;
    }
    this.#landed(blocks, started);
  }

  /** The blocks are durable: into the log, and their appends resolve. */
  #landed(blocks: readonly Block[], started: number): void {
    for (const b of blocks) {
      this.log.durable(b.seq, b.leaves);
      this.written += b.batch.length;
    }
    this.failingSince = null;
    for (const b of blocks) {
      for (const p of b.batch) {
        if (p.settled) continue;
        p.settled = true;
        p.resolve();
      }
    }
    try {
      if (blocks.length > 0) this.#onCommit?.(blocks.map((b) => b.batch.length), performance.now() - started);
    } catch {
      // A metrics listener's failure must not touch the evidence.
    }
  }

  /**
   * The ordered insert stopped at claim `at`, which another document holds: the claims before it
   * landed and are held, no block was written. Its append rejects with ClaimTakenError; every other
   * record goes back to the head of the queue (those whose request is still waiting), in order, and
   * the blocks' sequence numbers are given back, so the next write numbers on without a gap.
   */
  #claimTaken(claims: readonly Pending[], at: number, blocks: readonly Block[]): void {
    for (const p of claims.slice(0, at)) p.held = true;
    const failed = claims[at]!;
    if (!failed.settled) {
      failed.settled = true;
      failed.reject(new ClaimTakenError(failed.claim!.id));
    }
    this.log.release(blocks[0]!.seq);
    this.#queue.unshift(...blocks.flatMap((b) => b.batch).filter((p) => !p.settled));
  }

  /**
   * After a failed write: the block at `seq` is either there (it landed after all, or a filler of an
   * earlier attempt did) or is replaced by a filler of `aborted` records, retried until one is
   * durable, so the log has no gap; its leaves are taken from what is stored. Each attempt waits a
   * little first (100 ms, doubling up to 1 s), giving a write the server is still applying time to
   * land. Once the writer is closing, a failed attempt is the last (false): the block is then left
   * as it is, missing or not.
   */
  async #settle(seq: number, count: number, original: Buffer[]): Promise<boolean> {
    for (let wait = 100; ; wait = Math.min(wait * 2, 1000)) {
      if (!this.#closing) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          setTimeout(resolve, wait).unref();
        });
        this.#wake = undefined;
      }
      try {
        const landed = await this.#collection.findOne({ log: this.log.origin, seq }, { projection: { _id: 0, leaves: 1 } });
        if (landed) {
          const stored = leavesOf(landed);
          this.log.durable(seq, stored?.length === count ? stored : original);
          return true;
        }
        const filler = fillerBlock(this.log.origin, seq, count);
        await this.#collection.insertOne(filler.doc, { writeConcern: this.#writeConcern });
        this.log.durable(seq, filler.leaves);
        return true;
      } catch (error) {
        this.#onError?.(error, 0);
        if (this.#closing) {
          this.#onError?.(new Error(`closing with records ${seq}–${seq + count - 1} of log ${this.log.origin} neither confirmed nor replaced by a filler`), 0);
          return false;
        }
      }
    }
  }

  /**
   * Drops the claims of days before `day` (each serves its day only). Evidence blocks are not
   * touched: they have a `log`, claims none (on MongoDB, the `claims_day` index finds them).
   */
  async forgetClaims(day: string): Promise<number> {
    const { deletedCount } = await this.#collection.deleteMany({ day: { $exists: true, $lt: day }, log: { $exists: false } } as never, { writeConcern: this.#writeConcern });
    return deletedCount;
  }

  /** Waits until nothing is queued or in flight. */
  async flush(): Promise<void> {
    if (this.#queue.length === 0 && !this.#writing) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    this.#drain();
    await this.flush();
    this.#closed = true;
    await this.log.close();
  }
}
