/**
 * Verification of the access trail: every log, record by record, against its signed checkpoints.
 * Says what is wrong and where: a modified, deleted, inserted or reordered record, a truncated
 * tail, a forged or altered checkpoint, a checkpoint that does not extend the one before.
 */
import type { Db } from 'mongodb';
import { CHECKPOINTS_COLLECTION, LOGS_COLLECTION, recordLeaf, type CheckpointDoc } from './log.ts';
import { consistencyProof, inclusionProof, rootOf, type Hash } from './merkle.ts';
import { openNote, parseCheckpointText, type NoteVerifier } from './note.ts';
import type { EvidenceBlock } from './record.ts';
import { ACCESS_COLLECTION } from './writer.ts';

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

/** What a log holds, as read back: the leaf of each sequence number, recomputed from the record. */
export interface LogContent {
  readonly leaves: Hash[];
  readonly problems: Problem[];
}

export async function readLog(db: Db, log: string): Promise<LogContent> {
  const blocks = await db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({ log }, { projection: { _id: 0 } }).sort({ seq: 1 }).toArray();
  const problems: Problem[] = [];
  const bySeq = new Map<number, Hash>();
  for (const block of blocks) {
    const base = block.seq ?? 0;
    const before = problems.length;
    let previous: number | undefined;
    block.records.forEach((record, i) => {
      const seq = record.seq;
      if (typeof seq !== 'number' || record.log !== log) {
        problems.push({ kind: 'inserted', log, at: base + i, detail: `block ${base} holds a record without this log's sequence number at position ${i}` });
        return;
      }
      if (previous !== undefined && seq < previous) {
        problems.push({ kind: 'reordered', log, at: previous, detail: `record ${previous} stands before record ${seq}` });
        problems.push({ kind: 'reordered', log, at: seq, detail: `record ${seq} stands after record ${previous}` });
      }
      previous = seq;
      const leaf = recordLeaf(record);
      const stored = block.leaves?.[i];
      if (stored !== undefined && stored !== leaf.toString('base64')) {
        problems.push({ kind: 'modified', log, at: seq, detail: `record ${seq} does not match the hash written with it` });
      }
      if (bySeq.has(seq)) {
        problems.push({ kind: 'inserted', log, at: seq, detail: `a second record claims sequence number ${seq}` });
        return;
      }
      bySeq.set(seq, leaf);
    });
    if (block.records.length > block.count && problems.length === before) {
      problems.push({ kind: 'inserted', log, at: base, detail: `block ${base} holds ${block.records.length} records, written with ${block.count}` });
    }
  }
  const leaves: Hash[] = [];
  const max = Math.max(-1, ...bySeq.keys());
  for (let seq = 0; seq <= max; seq++) {
    const leaf = bySeq.get(seq);
    if (!leaf) {
      let end = seq;
      while (end + 1 <= max && !bySeq.has(end + 1)) end++;
      problems.push({ kind: 'deleted', log, at: seq, detail: end > seq ? `records ${seq}–${end} are missing` : `record ${seq} is missing` });
      seq = end;
      continue;
    }
    leaves[seq] = leaf;
  }
  return { leaves, problems };
}

export async function verifyLog(db: Db, log: string, verifier: NoteVerifier): Promise<LogReport> {
  const { leaves, problems } = await readLog(db, log);
  const records = leaves.length;
  const contiguous = leaves.findIndex((l) => l === undefined);
  const complete = contiguous === -1 ? records : contiguous;
  const checkpoints = await db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find({ log }, { projection: { _id: 0 } }).sort({ size: 1, at: 1 }).toArray();
  let verifiedSize = 0;
  let previous: { size: number; root: Buffer } | undefined;
  const recordProblemBefore = (size: number) => problems.some((p) => p.at < size && p.kind !== 'truncated');
  for (const c of checkpoints) {
    const opened = openNote(c.note, verifier);
    if (!opened.ok) {
      problems.push({ kind: 'forged-checkpoint', log, at: c.size, detail: `checkpoint of size ${c.size}: ${opened.reason}` });
      continue;
    }
    let body;
    try {
      body = parseCheckpointText(opened.text);
    } catch (error) {
      problems.push({ kind: 'forged-checkpoint', log, at: c.size, detail: (error as Error).message });
      continue;
    }
    if (body.origin !== log) {
      problems.push({ kind: 'forged-checkpoint', log, at: body.size, detail: `a checkpoint of log ${body.origin} is filed under this log` });
      continue;
    }
    if (previous && body.size >= previous.size && complete >= body.size) {
      // Both checkpoints are signed; the later one must extend the earlier (RFC 6962 consistency).
      const earlierRoot = rootOf(leaves, 0, previous.size);
      if (earlierRoot.equals(previous.root) && !rootOf(leaves, 0, body.size).equals(body.root) && !recordProblemBefore(body.size)) {
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
    if (!rootOf(leaves, 0, body.size).equals(body.root)) {
      if (!recordProblemBefore(body.size)) {
        problems.push({ kind: previous ? 'inconsistent-checkpoint' : 'modified', log, at: body.size, detail: `the records do not hash to the root of the signed checkpoint of size ${body.size}` });
      }
    } else {
      verifiedSize = Math.max(verifiedSize, body.size);
    }
    previous = { size: body.size, root: body.root };
  }
  return { log, records, checkpoints: checkpoints.length, verifiedSize, uncheckpointed: Math.max(0, records - verifiedSize), problems: problems.sort((a, b) => a.at - b.at) };
}

export async function listLogs(db: Db): Promise<string[]> {
  const registered = await db.collection<{ origin: string }>(LOGS_COLLECTION).find({}, { projection: { origin: 1 } }).toArray();
  return registered.map((l) => l.origin).sort();
}

export async function verifyTrail(db: Db, verifier: NoteVerifier, only?: string): Promise<TrailReport> {
  const logs = only ? [only] : await listLogs(db);
  const reports: LogReport[] = [];
  for (const log of logs) reports.push(await verifyLog(db, log, verifier));
  return { ok: reports.every((r) => r.problems.length === 0), logs: reports };
}

/** The inclusion proof of record `seq` in the latest checkpoint that covers it. */
export async function proveRecord(db: Db, log: string, seq: number): Promise<{ checkpoint: string; size: number; leaf: string; proof: string[] } | null> {
  const checkpoint = await db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find({ log, size: { $gt: seq } }, { projection: { _id: 0 } }).sort({ size: -1 }).limit(1).next();
  if (!checkpoint) return null;
  const { leaves } = await readLog(db, log);
  const leaf = leaves[seq];
  if (!leaf || leaves.length < checkpoint.size) return null;
  return { checkpoint: checkpoint.note, size: checkpoint.size, leaf: leaf.toString('base64'), proof: inclusionProof(leaves, seq, checkpoint.size).map((h) => h.toString('base64')) };
}

/** The consistency proof between two checkpoint sizes of a log. */
export async function proveConsistency(db: Db, log: string, older: number, newer: number): Promise<string[]> {
  const { leaves } = await readLog(db, log);
  return consistencyProof(leaves, older, newer).map((h) => h.toString('base64'));
}
