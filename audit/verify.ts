/**
 * Verification of the access trail: every log, record by record, against its signed checkpoints.
 * Says what is wrong and where: a modified, deleted, inserted or reordered record, a truncated
 * tail, a forged or altered checkpoint, a checkpoint that does not extend the one before.
 */
import { Binary, type Db } from 'mongodb';
import { ADMIN_COLLECTION, ADMIN_LOG, ADMIN_LOG_START, adminBody, adminLeaf, adminLogExists, earlierAdmin, earlierProblem, storedAdminHashes } from './admin.ts';
import { archivedPrefix, canonicalBytes, CHECKPOINTS_COLLECTION, LOGS_COLLECTION, type CheckpointDoc } from './log.ts';
import { consistencyRanges, Frontier, inclusionProof, inclusionRanges, verifyInclusion, type Hash } from './merkle.ts';
import { storedTree, subtreeHashes, withStoredTree } from './tree.ts';
import { openNote, parseCheckpointText, type NoteVerifier } from './note.ts';
import type { EvidenceBlock } from './record.ts';
import { isReadable, leafOf, leavesOf, recordsOf } from './encoding.ts';
import { blocksInSequence } from './blocks.ts';

export type ProblemKind = 'modified' | 'deleted' | 'inserted' | 'reordered' | 'truncated' | 'forged-checkpoint' | 'inconsistent-checkpoint';

export interface Problem {
  readonly kind: ProblemKind;
  readonly log: string;
  /** Sequence number (record problems) or tree size (checkpoint problems). */
  readonly at: number;
  readonly detail: string;
}

export interface LogReport {
  readonly log: string;
  /** Records archived under the retention policy (sequence numbers below it); 0 if none. */
  readonly archived: number;
  /** Records in the trail (after the archived prefix). */
  readonly records: number;
  readonly checkpoints: number;
  /** Size of the latest checkpoint that verified, and how many records follow it unchecked. */
  readonly verifiedSize: number;
  readonly uncheckpointed: number;
  readonly problems: readonly Problem[];
}

export interface TrailReport {
  readonly ok: boolean;
  readonly logs: readonly LogReport[];
}

/**
 * What a log holds, as read back: its records' leaves (recomputed from the records) folded into
 * its tree as they are read, never all kept (a log of a busy hub process reaches 10^7–10^8 records).
 */
export interface LogContent {
  readonly problems: Problem[];
  /** Records archived under the retention policy: sequence numbers below it are in the archive. */
  readonly base: number;
  /** Where the durable, gap-free prefix ends (the first missing sequence number from `base` on). */
  readonly complete: number;
  /** Records from `base` to the highest sequence number read (gaps included). */
  readonly records: number;
  /** Roots of the tree at the sizes asked for that lie within [base, complete], and at `complete`. */
  readonly roots: ReadonlyMap<number, Hash>;
}

/** Leaves held for records read ahead of a gap before a fold holds only their numbers. */
export const PENDING_LIMIT = 1 << 20;

/**
 * Folds a log's leaves into its tree in sequence order, in O(log n) memory when they come in order:
 * a leaf read ahead of the next number waits (a tampered log: a record moved, or missing), up to
 * `pendingLimit` of them; past that only their numbers are kept, as ranges, and the fold stops
 * there (nothing past a missing record can be hashed into the tree anyway).
 */
export class LeafFold {
  readonly #log: string;
  readonly #problems: Problem[];
  readonly #base: number;
  readonly #sizes: ReadonlySet<number>;
  readonly #frontier: Frontier;
  readonly #roots = new Map<number, Hash>();
  readonly #pending = new Map<number, Hash>();
  readonly #pendingLimit: number;
  /** Once pending overflowed: the numbers read past the fold, as sorted disjoint ranges [lo, hi). */
  #ranges: Array<[number, number]> | undefined;
  #max: number;

  constructor(log: string, base: number, frontier: Frontier, sizes: ReadonlySet<number>, problems: Problem[], pendingLimit = PENDING_LIMIT) {
    this.#log = log;
    this.#problems = problems;
    this.#base = base;
    this.#sizes = sizes;
    this.#frontier = Frontier.restore(frontier.nodes());
    this.#pendingLimit = pendingLimit;
    this.#max = base - 1;
    this.#mark();
  }

  /** Leaves held in memory beyond the tree's frontier. */
  get held(): number {
    return this.#pending.size;
  }

  /** Whether sequence number `seq` was read already. */
  has(seq: number): boolean {
    if (seq < this.#frontier.size) return seq >= this.#base;
    if (this.#pending.has(seq)) return true;
    return this.#ranges !== undefined && this.#rangeOf(seq) >= 0;
  }

  /** Adds the leaf of record `seq` (at or after `base`, not read before: see `has`). */
  add(seq: number, leaf: Hash): void {
    if (seq > this.#max) this.#max = seq;
    if (this.#ranges === undefined && seq === this.#frontier.size) {
      this.#append(leaf);
      for (let next = this.#pending.get(this.#frontier.size); next; next = this.#pending.get(this.#frontier.size)) {
        this.#pending.delete(this.#frontier.size);
        this.#append(next);
      }
      return;
    }
    if (this.#ranges === undefined && this.#pending.size < this.#pendingLimit) {
      this.#pending.set(seq, leaf);
      return;
    }
    if (this.#ranges === undefined) {
      this.#ranges = [];
      for (const held of [...this.#pending.keys()].sort((a, b) => a - b)) this.#addRange(held);
      this.#pending.clear();
    }
    this.#addRange(seq);
  }

  /** Reports each gap as deleted records; what was read. */
  finish(): LogContent {
    const complete = this.#frontier.size;
    this.#roots.set(complete, this.#frontier.root());
    const present: Array<[number, number]> = this.#ranges ?? [];
    if (this.#ranges === undefined) for (const seq of [...this.#pending.keys()].sort((a, b) => a - b)) this.#extend(present, seq);
    let from = complete;
    for (const [lo, hi] of [...present, [this.#max + 1, this.#max + 1] as [number, number]]) {
      if (lo > from) {
        const end = lo - 1;
        this.#problems.push({ kind: 'deleted', log: this.#log, at: from, detail: end > from ? `records ${from}–${end} are missing` : `record ${from} is missing` });
      }
      from = Math.max(from, hi);
    }
    return { problems: this.#problems, base: this.#base, complete, records: this.#max + 1 - this.#base, roots: this.#roots };
  }

  #append(leaf: Hash): void {
    this.#frontier.append(leaf);
    this.#mark();
  }

  #mark(): void {
    if (this.#sizes.has(this.#frontier.size)) this.#roots.set(this.#frontier.size, this.#frontier.root());
  }

  /** Index of the range holding `seq`, or -1. */
  #rangeOf(seq: number): number {
    const ranges = this.#ranges!;
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, b] = ranges[mid]!;
      if (seq < a) hi = mid - 1;
      else if (seq >= b) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  #addRange(seq: number): void {
    const ranges = this.#ranges!;
    const last = ranges.at(-1);
    // In order, the common case: extend or open the last range.
    if (!last || seq >= last[1]) {
      this.#extend(ranges, seq);
      return;
    }
    let i = 0;
    while (i < ranges.length && ranges[i]![1] < seq) i++;
    const at = ranges[i]!;
    if (seq === at[1]) {
      at[1]++;
      if (ranges[i + 1] && ranges[i + 1]![0] === at[1]) at[1] = ranges.splice(i + 1, 1)[0]![1];
    } else if (seq === at[0] - 1) {
      at[0]--;
      if (i > 0 && ranges[i - 1]![1] === at[0]) ranges[i - 1]![1] = ranges.splice(i, 1)[0]![1];
    } else if (seq < at[0]) {
      ranges.splice(i, 0, [seq, seq + 1]);
    }
  }

  #extend(ranges: Array<[number, number]>, seq: number): void {
    const last = ranges.at(-1);
    if (last && last[1] === seq) last[1]++;
    else ranges.push([seq, seq + 1]);
  }
}

/** Reads an access log in sequence order, folding its leaves; roots at `sizes` (the signed checkpoints'). */
export async function readLog(db: Db, log: string, sizes: ReadonlySet<number> = new Set()): Promise<LogContent> {
  const problems: Problem[] = [];
  let base = 0;
  let frontier = new Frontier();
  try {
    ({ size: base, frontier } = await archivedPrefix(db, log));
  } catch (error) {
    problems.push({ kind: 'modified', log, at: 0, detail: `the archived prefix's summary is damaged: ${(error as Error).message}` });
  }
  // Streamed in sequence order, in constant memory (export.ts), folded into the tree as read; a
  // sorted find() would have the server decode and sort the whole log first.
  const fold = new LeafFold(log, base, frontier, sizes, problems);
  for await (const block of blocksInSequence(db, log, base, { withLeaves: true })) {
    const start = block.seq ?? 0;
    const records = recordsOf(block);
    // Left behind by an archive run interrupted between recording the prefix and removing it (the
    // next run removes it), or put there: either way nothing checks it, so it must not stay silent.
    if (start < base && records.every((r) => typeof r.seq === 'number' && r.seq < base)) {
      problems.push({ kind: 'inserted', log, at: start, detail: `block ${start} lies in the archived prefix (below ${base}); an interrupted \`hub audit archive\` leaves such blocks: run it again` });
      continue;
    }
    const before = problems.length;
    const storedLeaves = leavesOf(block);
    let previous: number | undefined;
    records.forEach((record, i) => {
      if (!isReadable(record)) {
        // It stands in its place: what follows keeps its own.
        problems.push({ kind: 'modified', log, at: start + i, detail: `block ${start} holds a record at position ${i} that is not a JSON object` });
        if (start + i >= base && !fold.has(start + i)) fold.add(start + i, leafOf(record));
        return;
      }
      const seq = record.seq;
      if (typeof seq !== 'number' || record.log !== log) {
        problems.push({ kind: 'inserted', log, at: start + i, detail: `block ${start} holds a record without this log's sequence number at position ${i}` });
        return;
      }
      if (previous !== undefined && seq < previous) {
        problems.push({ kind: 'reordered', log, at: previous, detail: `record ${previous} stands before record ${seq}` });
        problems.push({ kind: 'reordered', log, at: seq, detail: `record ${seq} stands after record ${previous}` });
      }
      previous = seq;
      const leaf = leafOf(record);
      const stored = storedLeaves?.[i];
      if (stored !== undefined && !stored.equals(leaf)) {
        problems.push({ kind: 'modified', log, at: seq, detail: `record ${seq} does not match the hash written with it` });
      }
      if (seq < base) {
        problems.push({ kind: 'inserted', log, at: seq, detail: `record ${seq} stands among records ${base} and later, but lies in the archived prefix` });
        return;
      }
      if (fold.has(seq)) {
        problems.push({ kind: 'inserted', log, at: seq, detail: `a second record claims sequence number ${seq}` });
        return;
      }
      fold.add(seq, leaf);
    });
    if (records.length > block.count && problems.length === before) {
      problems.push({ kind: 'inserted', log, at: start, detail: `block ${start} holds ${records.length} records, written with ${block.count}` });
    }
  }
  return fold.finish();
}

/**
 * What the administrative log holds (admin.ts): each record's leaf recomputed from the record as
 * stored, checked against the leaf written with it. Records without a sequence number are outside
 * the log: those an older hub wrote before it began must still match the count and digest its
 * first record holds; any other is reported.
 */
export async function readAdminLog(db: Db, sizes: ReadonlySet<number> = new Set()): Promise<LogContent> {
  const log = ADMIN_LOG;
  const problems: Problem[] = [];
  const fold = new LeafFold(log, 0, new Frontier(), sizes, problems);
  let read = 0;
  let fixed: { earlier?: unknown; digest?: unknown } | undefined;
  const records = db.collection(ADMIN_COLLECTION);
  for await (const doc of records.find({ seq: { $exists: true } }).sort({ seq: 1 })) {
    const seq: unknown = doc['seq'];
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
      problems.push({ kind: 'inserted', log, at: read, detail: `an administrative record has the sequence number ${JSON.stringify(seq)}, which is none` });
      continue;
    }
    let leaf: Hash;
    try {
      leaf = adminLeaf(doc);
    } catch (error) {
      problems.push({ kind: 'modified', log, at: seq, detail: `administrative record ${seq} cannot be hashed: ${(error as Error).message}` });
      continue;
    }
    const stored = doc['leaf'] instanceof Binary ? Buffer.from(doc['leaf'].buffer) : undefined;
    if (!stored?.equals(leaf)) problems.push({ kind: 'modified', log, at: seq, detail: `administrative record ${seq} does not match the hash written with it` });
    if (fold.has(seq)) {
      problems.push({ kind: 'inserted', log, at: seq, detail: `a second administrative record claims sequence number ${seq}` });
      continue;
    }
    if (seq === 0 && doc['action'] === ADMIN_LOG_START) fixed = (doc['detail'] ?? {}) as typeof fixed;
    fold.add(seq, leaf);
    read++;
  }
  const content = fold.finish();
  const earlier = earlierProblem(await earlierAdmin(db), fixed, content.base + content.records);
  if (earlier) problems.push({ ...earlier, log });
  return content;
}

/** Verifies one log (an access log, or the administrative log) against its signed checkpoints. */
export async function verifyLog(db: Db, log: string, verifier: NoteVerifier): Promise<LogReport> {
  return (await inspectLog(db, log, verifier)).report;
}

/**
 * Verifies one log, and gives where its durable, gap-free prefix ends with that prefix's root
 * (adopt.ts signs it).
 */
export async function inspectLog(db: Db, log: string, verifier: NoteVerifier): Promise<{ report: LogReport; complete: number; root: Hash }> {
  const checkpoints = await db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find({ log }, { projection: { _id: 0 } }).sort({ size: 1, at: 1 }).toArray();
  const forged: Problem[] = [];
  const signed: Array<{ size: number; root: Buffer }> = [];
  for (const c of checkpoints) {
    const opened = openNote(c.note, verifier);
    if (!opened.ok) {
      forged.push({ kind: 'forged-checkpoint', log, at: c.size, detail: `checkpoint of size ${c.size}: ${opened.reason}` });
      continue;
    }
    let body;
    try {
      body = parseCheckpointText(opened.text);
    } catch (error) {
      forged.push({ kind: 'forged-checkpoint', log, at: c.size, detail: (error as Error).message });
      continue;
    }
    if (body.origin !== log) {
      forged.push({ kind: 'forged-checkpoint', log, at: body.size, detail: `a checkpoint of log ${body.origin} is filed under this log` });
      continue;
    }
    signed.push({ size: body.size, root: body.root });
  }
  const sizes = new Set(signed.map((c) => c.size));
  const content = log === ADMIN_LOG ? await readAdminLog(db, sizes) : await readLog(db, log, sizes);
  content.problems.push(...forged);
  return { report: judge(log, content, signed), complete: content.complete, root: content.roots.get(content.complete)! };
}

/** A log's records against its signed checkpoints. */
function judge(log: string, content: LogContent, signed: ReadonlyArray<{ size: number; root: Buffer }>): LogReport {
  const { problems, base, complete, records, roots } = content;
  const rootAt = (size: number) => roots.get(size)!;
  let verifiedSize = 0;
  let counted = 0;
  let previous: { size: number; root: Buffer } | undefined;
  const recordProblemBefore = (size: number) => problems.some((p) => p.at < size && p.kind !== 'truncated');
  for (const body of signed) {
    // Checkpoints inside the archived prefix are checked with the archive; the one at its end
    // authenticates the prefix's frontier kept here.
    if (body.size < base) continue;
    counted++;
    if (body.size === base && base > 0 && !rootAt(base).equals(body.root)) {
      problems.push({ kind: 'modified', log, at: base, detail: `the archived prefix's summary does not match the signed checkpoint of size ${base}` });
      previous = { size: body.size, root: body.root };
      continue;
    }
    if (previous && body.size >= previous.size && complete >= body.size) {
      // Both checkpoints are signed; the later one must extend the earlier (RFC 6962 consistency).
      const earlierRoot = rootAt(previous.size);
      if (earlierRoot.equals(previous.root) && !rootAt(body.size).equals(body.root) && !recordProblemBefore(body.size)) {
        problems.push({ kind: 'inconsistent-checkpoint', log, at: body.size, detail: `checkpoint of size ${body.size} does not extend checkpoint of size ${previous.size}` });
        previous = { size: body.size, root: body.root };
        continue;
      }
    }
    if (body.size > complete) {
      problems.push({ kind: 'truncated', log, at: complete, detail: `the signed checkpoint covers ${body.size} records; only ${complete} are there` });
      previous = { size: body.size, root: body.root };
      continue;
    }
    if (!rootAt(body.size).equals(body.root)) {
      if (!recordProblemBefore(body.size)) {
        problems.push({ kind: previous ? 'inconsistent-checkpoint' : 'modified', log, at: body.size, detail: `the records do not hash to the root of the signed checkpoint of size ${body.size}` });
      }
    } else {
      verifiedSize = Math.max(verifiedSize, body.size);
    }
    previous = { size: body.size, root: body.root };
  }
  if (base > 0 && !signed.some((c) => c.size === base)) {
    problems.push({ kind: 'deleted', log, at: base, detail: `no signed checkpoint of size ${base} authenticates the archived prefix` });
  }
  return {
    log, archived: base, records, checkpoints: counted, verifiedSize, uncheckpointed: Math.max(0, base + records - Math.max(verifiedSize, base)),
    problems: problems.sort((a, b) => a.at - b.at),
  };
}

export async function listLogs(db: Db): Promise<string[]> {
  const registered = await db.collection<{ origin: string }>(LOGS_COLLECTION).find({}, { projection: { origin: 1 } }).toArray();
  return registered.map((l) => l.origin).sort();
}

/** Verifies every access log, then the administrative log if it holds anything (`only`: one of them, by name). */
export async function verifyTrail(db: Db, verifier: NoteVerifier, only?: string): Promise<TrailReport> {
  const logs = only ? [only] : [...(await listLogs(db)), ...((await adminLogExists(db)) ? [ADMIN_LOG] : [])];
  const reports: LogReport[] = [];
  for (const log of logs) reports.push(await verifyLog(db, log, verifier));
  return { ok: reports.every((r) => r.problems.length === 0), logs: reports };
}

/**
 * The inclusion proof of record `seq`, with the canonical JSON its leaf hashes, in the latest
 * checkpoint that covers it and the stored tree reaches (tree.ts), else in the latest that covers
 * it (the tree is then filled that far). A proof in any signed checkpoint is as good as in the
 * latest; checkpoints come every few seconds while a hub writes, and filling up to each new one
 * would read the log's new blocks for every proof (a scan on FerretDB).
 */
export async function proveRecord(db: Db, log: string, seq: number): Promise<{ checkpoint: string; size: number; leaf: string; proof: string[]; record: string } | null> {
  const checkpoints = db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION);
  const tree = await storedTree(db, log);
  const latest = (size: object) => checkpoints.find({ log, size }, { projection: { _id: 0 } }).sort({ size: -1 }).limit(1).next();
  const checkpoint = (tree.end > seq ? await latest({ $gt: seq, $lte: tree.end }) : null) ?? (await latest({ $gt: seq }));
  if (!checkpoint) return null;
  // The record's leaf and its audit path from the stored subtree hashes, and its block, all by
  // `_id` (tree.ts).
  let found: { hashes: Hash[]; block: EvidenceBlock | null };
  try {
    found = await withStoredTree(db, log, checkpoint.size, async (source) => ({
      hashes: await source.hashes([[seq, seq + 1], ...inclusionRanges(seq, checkpoint.size)]),
      block: await source.blockOf(seq),
    }), tree);
  } catch (error) {
    // A record of the tree is not there (archived, or missing), or the archived prefix's summary is
    // damaged (verification says so): no proof to give.
    if (error instanceof RangeError) return null;
    throw error;
  }
  const [leaf, ...proof] = found.hashes as [Hash, ...Hash[]];
  const stored = found.block ? recordsOf(found.block).filter(isReadable).find((r) => r.seq === seq) : undefined;
  if (!stored) return null;
  return {
    checkpoint: checkpoint.note, size: checkpoint.size, leaf: leaf.toString('base64'), proof: proof.map((h) => h.toString('base64')),
    record: canonicalBytes(stored).toString('utf8'),
  };
}

/** The consistency proof between two checkpoint sizes of a log (both at or after its archived prefix). */
export async function proveConsistency(db: Db, log: string, older: number, newer: number): Promise<string[]> {
  return (await subtreeHashes(db, log, consistencyRanges(older, newer))).map((h) => h.toString('base64'));
}

/**
 * The inclusion proof of administrative record `seq` in the latest signed checkpoint of the
 * administrative log that covers it, with its canonical JSON; null when none covers it yet, or the
 * log does not hold it whole up to there. Built from the frontiers and leaves stored with the
 * records (`storedAdminHashes`: O(log n) records, one query), or, when those do not give a path to
 * the checkpoint's root (one was changed by hand), from every leaf up to the checkpoint, as
 * verification reads them; the record's own leaf recomputed: whoever receives the proof checks it
 * against the signed root.
 */
export async function proveAdminRecord(db: Db, seq: number): Promise<{ checkpoint: string; size: number; leaf: string; proof: string[]; record: string } | null> {
  const checkpoint = await db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find({ log: ADMIN_LOG, size: { $gt: seq } }, { projection: { _id: 0 } }).sort({ size: -1 }).limit(1).next();
  if (!checkpoint) return null;
  const records = db.collection(ADMIN_COLLECTION);
  const doc = await records.findOne({ seq });
  if (!doc) return null;
  const leaf = adminLeaf(doc);
  const stored = await storedAdminHashes(db, inclusionRanges(seq, checkpoint.size));
  const fits = stored !== undefined && verifyInclusion(leaf, seq, checkpoint.size, stored, Buffer.from(checkpoint.root, 'base64'));
  const proof = fits ? stored : await adminProofFromLeaves(db, seq, checkpoint.size);
  if (!proof) return null;
  return {
    checkpoint: checkpoint.note, size: checkpoint.size, leaf: leaf.toString('base64'),
    proof: proof.map((h) => h.toString('base64')), record: canonicalBytes(adminBody(doc)).toString('utf8'),
  };
}

/** The audit path of record `seq` from every stored leaf up to `size`; null when one is missing or damaged. */
async function adminProofFromLeaves(db: Db, seq: number, size: number): Promise<Hash[] | null> {
  const leaves: Hash[] = [];
  for await (const stored of db.collection(ADMIN_COLLECTION).find({ seq: { $gte: 0, $lt: size } }, { projection: { _id: 0, seq: 1, leaf: 1 } }).sort({ seq: 1 })) {
    if (stored['seq'] !== leaves.length || !(stored['leaf'] instanceof Binary) || stored['leaf'].length() !== 32) return null;
    leaves.push(Buffer.from(stored['leaf'].buffer));
  }
  return leaves.length === size ? inclusionProof(leaves, seq, size) : null;
}
