/**
 * The access log of one hub process: an append-only sequence of records, each a leaf of an
 * RFC 6962 Merkle tree over its RFC 8785 canonical JSON, with signed checkpoints.
 *
 * One log per hub process (its own origin and sequence), not one shared log: a shared sequence
 * needs an atomic counter across instances, and FerretDB 1.24 does not apply concurrent updates of
 * one document atomically; per-process logs need no coordination at all, stay gap-free by
 * construction, and match X-Road (each security server keeps its own message log). Verification
 * covers every log; each checkpoint names its origin.
 *
 * Evidence blocks stay the unit of writing: a block holds consecutive records (`seq`, `count`) and
 * their leaf hashes. A block whose write fails is replaced by a filler block of `aborted` records
 * for the same sequence numbers (retried until durable), so the log never has a gap; the requests
 * of a failed block got AUDIT_UNAVAILABLE and no data.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { canonicalText } from './canonical.ts';
import type { Db } from 'mongodb';
import { Frontier, textLeafHash, type FrontierNode } from './merkle.ts';
import { checkpointText, signNote, type NoteSigner } from './note.ts';

export const LOGS_COLLECTION = 'audit_logs';
export const CHECKPOINTS_COLLECTION = 'audit_checkpoints';

export interface CheckpointDoc {
  readonly log: string;
  readonly size: number;
  /** Base64 root hash. */
  readonly root: string;
  /** The signed note exactly as served by GET /audit/checkpoint. */
  readonly note: string;
  readonly at: Date;
}

/**
 * What remains of a log's archived prefix (retention): its size and the frontier of its Merkle
 * tree, in the log's `audit_logs` document. The records themselves are in the archive; the
 * frontier's root equals the signed checkpoint of that size, which authenticates it.
 */
export interface ArchivedPrefix {
  readonly size: number;
  readonly nodes: ReadonlyArray<{ readonly hash: string; readonly size: number }>;
  readonly at: Date;
  /** The archive file's name and SHA-256, to find it again. */
  readonly file: string;
  readonly sha256: string;
}

export interface LogDoc {
  readonly origin: string;
  readonly startedAt: Date;
  readonly host: string;
  readonly pid: number;
  readonly key: string | null;
  readonly archived?: ArchivedPrefix;
  /** Last sign of life of the process writing it (every checkpoint interval). */
  readonly seen?: Date;
  /** Set when the process stopped after signing its last checkpoint. */
  readonly closed?: Date;
  /** Set when another hub signed what a stopped process left unsigned (adopt.ts). */
  readonly adopted?: { readonly at: Date; readonly by: string; readonly size: number | null; readonly problem?: string };
}

/** A frontier's nodes as stored (base64 hashes): in an archived prefix, a tree's mark, an administrative record. */
export const storedNodes = (frontier: Frontier): Array<{ hash: string; size: number }> => frontier.nodes().map((n) => ({ hash: n.hash.toString('base64'), size: n.size }));

/**
 * Signs a checkpoint of `log` at `size` for a hub other than the log's writer (the administrative
 * log, a stopped hub's log) and stores it once: several hubs signing the same size store one.
 */
export async function storeCheckpoint(db: Db, signer: NoteSigner, log: string, size: number, root: Buffer): Promise<CheckpointDoc> {
  const doc: CheckpointDoc = { log, size, root: root.toString('base64'), note: signNote(signer, checkpointText({ origin: log, size, root })), at: new Date() };
  await db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).updateOne({ log, size }, { $setOnInsert: doc }, { upsert: true, writeConcern: { w: 'majority', journal: true } });
  return doc;
}

/** Stored nodes back as frontier nodes (the inverse of `storedNodes`). */
export function prefixNodes(prefix: Pick<ArchivedPrefix, 'nodes'>): FrontierNode[] {
  return prefix.nodes.map((n) => ({ hash: Buffer.from(n.hash, 'base64'), size: n.size }));
}

/** The archived prefix of a log: 0 records and an empty frontier when nothing was archived. */
export async function archivedPrefix(db: Db, log: string): Promise<{ size: number; frontier: Frontier }> {
  const doc = await db.collection<LogDoc>(LOGS_COLLECTION).findOne({ origin: log }, { projection: { _id: 0, archived: 1 } });
  if (!doc?.archived) return { size: 0, frontier: new Frontier() };
  const frontier = Frontier.restore(prefixNodes(doc.archived));
  if (frontier.size !== doc.archived.size) throw new RangeError(`log ${log}: the archived prefix's frontier covers ${frontier.size} records, not ${doc.archived.size}`);
  return { size: doc.archived.size, frontier };
}

/** The canonical (RFC 8785) bytes of a stored record; Dates become ISO strings, as JSON writes them. */
export function canonicalBytes(record: object): Buffer {
  return Buffer.from(canonicalText(record), 'utf8');
}

export function recordLeaf(record: object): Buffer {
  return textLeafHash(canonicalText(record));
}

export function newOrigin(name: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${name}/${hostname().replace(/[^A-Za-z0-9.-]/g, '-')}/${stamp}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export interface EvidenceLogOptions {
  readonly origin: string;
  /** Signs checkpoints; without one (unit tests) no checkpoint is written. */
  readonly signer?: NoteSigner;
  /** Sign a checkpoint when this many records were added since the last one … */
  readonly checkpointRecords?: number;
  /** … or this long after the last one, if anything was added. */
  readonly checkpointSeconds?: number;
  readonly onError?: (error: unknown) => void;
}

export class EvidenceLog {
  readonly origin: string;
  readonly #db: Db;
  readonly #signer: NoteSigner | undefined;
  readonly #every: number;
  readonly #onError: ((error: unknown) => void) | undefined;
  #next = 0;
  /** Durable leaves not yet contiguous with the frontier, by sequence number. */
  readonly #waiting = new Map<number, Buffer[]>();
  readonly #frontier = new Frontier();
  #checkpointed = 0;
  #timer: NodeJS.Timeout | undefined;
  #signing: Promise<void> | undefined;
  latest: CheckpointDoc | null = null;

  constructor(db: Db, options: EvidenceLogOptions) {
    this.#db = db;
    this.origin = options.origin;
    this.#signer = options.signer;
    this.#every = options.checkpointRecords ?? 10_000;
    this.#onError = options.onError;
    if (this.#signer) {
      this.#timer = setInterval(() => {
        void this.checkpoint();
        void this.#beat();
      }, (options.checkpointSeconds ?? 10) * 1000);
      this.#timer.unref();
    }
  }

  async register(): Promise<void> {
    await this.#db.collection(LOGS_COLLECTION).insertOne({
      origin: this.origin, startedAt: new Date(), host: hostname(), pid: process.pid, key: this.#signer?.verifierKey ?? null,
    });
  }

  /** The sequence number the next reservation starts at. */
  get nextSeq(): number {
    return this.#next;
  }

  /** Reserves sequence numbers for `count` records; the first one. */
  reserve(count: number): number {
    const first = this.#next;
    this.#next += count;
    return first;
  }

  /**
   * Gives back the sequence numbers from `seq` on, reserved for blocks that were not written and
   * never will be as they were (a taken claim stopped their write; see writer.ts). Only numbers of
   * the latest write, none of them durable yet, can be given back.
   */
  release(seq: number): void {
    if (seq < this.#frontier.size || seq > this.#next || [...this.#waiting.keys()].some((s) => s >= seq)) {
      throw new Error(`cannot give back sequence numbers from ${seq}: the log is at ${this.#frontier.size}, reserved up to ${this.#next}`);
    }
    this.#next = seq;
  }

  /** Records that the leaves from `seq` on are durable; signs a checkpoint when enough accumulated. */
  durable(seq: number, leaves: Buffer[]): void {
    this.#waiting.set(seq, leaves);
    for (let run = this.#waiting.get(this.#frontier.size); run; run = this.#waiting.get(this.#frontier.size)) {
      this.#waiting.delete(this.#frontier.size);
      for (const leaf of run) this.#frontier.append(leaf);
    }
    if (this.#signer && this.#frontier.size - this.#checkpointed >= this.#every) void this.checkpoint();
  }

  get size(): number {
    return this.#frontier.size;
  }

  /** Signs and stores a checkpoint of the durable prefix, if it grew. One at a time. */
  checkpoint(): Promise<void> {
    // Cleared in `finally` of the stored promise, never inside the work itself: work that returns
    // before its first await would clear the slot before it is assigned, leaving it set for good.
    this.#signing ??= this.#sign().finally(() => {
      this.#signing = undefined;
    });
    return this.#signing;
  }

  async #sign(): Promise<void> {
    try {
      const size = this.#frontier.size;
      if (!this.#signer || (size === this.#checkpointed && this.latest)) return;
      const root = this.#frontier.root();
      const note = signNote(this.#signer, checkpointText({ origin: this.origin, size, root }));
      const doc: CheckpointDoc = { log: this.origin, size, root: root.toString('base64'), note, at: new Date() };
      await this.#db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).insertOne({ ...doc }, { writeConcern: { w: 'majority', journal: true } });
      this.latest = doc;
      this.#checkpointed = size;
    } catch (error) {
      this.#onError?.(error);
    }
  }

  /**
   * A sign of life in the log's `audit_logs` document: a log whose process stops beating without
   * closing it is signed by another hub after `audit.adoptAfterSeconds` (adopt.ts). Lossy.
   */
  async #beat(): Promise<void> {
    // A log taken for a stopped one's while its process could not reach the database is its own
    // again: the mark goes, so it is adopted anew if the process stops for good later.
    await this.#db.collection<LogDoc>(LOGS_COLLECTION).updateOne({ origin: this.origin }, { $set: { seen: new Date() }, $unset: { adopted: '' } }).catch(() => undefined);
  }

  /**
   * Stops the timer and signs the last checkpoint (after one still being signed, which may cover
   * less); when that covers every durable record, marks the log closed (nothing for another hub to
   * sign).
   */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#signing;
    await this.checkpoint();
    if (this.#signer && this.#waiting.size === 0 && this.#checkpointed === this.#frontier.size && this.latest) {
      await this.#db.collection<LogDoc>(LOGS_COLLECTION).updateOne({ origin: this.origin }, { $set: { closed: new Date() } }).catch((error: unknown) => this.#onError?.(error));
    }
  }
}
