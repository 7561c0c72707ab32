/**
 * Exports of the trail, streamed in constant memory, and their offline verification.
 *
 * JSONL (verifiable): per log, a `log` line, its signed `checkpoint` lines (ascending size), then
 * every `record` line in sequence order; the administrative log (admin.ts) last, in the same
 * lines, with the records an older hub wrote before it began as `earlier` lines (oldest first)
 * before its own. Anyone with the verifier key re-hashes the records, folds them into the RFC 6962
 * tree (a frontier: O(log n) memory) and checks each checkpoint's signature and root as the tree
 * reaches its size, and the earlier records against the count and digest the log's signed first
 * record holds.
 * CSV (for spreadsheets): one access record per row; not self-verifying.
 */
import type { Db } from 'mongodb';
import { ADMIN_COLLECTION, ADMIN_LOG, ADMIN_LOG_START, adminBody, adminLogExists, EarlierDigest, earlierAdminRecords, earlierProblem } from './admin.ts';
import { archivedPrefix, CHECKPOINTS_COLLECTION, recordLeaf, storedNodes, type CheckpointDoc } from './log.ts';
import { Frontier } from './merkle.ts';
import { openNote, parseCheckpointText, type NoteVerifier } from './note.ts';
import { isReadable, lineLeaf, recordsOf } from './encoding.ts';
import { unpackRecord } from './record.ts';
import type { LogReport, Problem, TrailReport } from './verify.ts';
import { listLogs } from './verify.ts';
import { blocksInSequence } from './blocks.ts';

export type ExportFormat = 'jsonl' | 'csv';

const CSV_COLUMNS = [
  'log', 'seq', 'at', 'requestId', 'action', 'system', 'department', 'principalKind', 'operator', 'purpose', 'caseId', 'resource', 'provider',
  'subjectType', 'subject', 'itemsReturned', 'itemsMasked', 'itemsRefused', 'itemsVerified', 'grants', 'decision', 'code', 'denial', 'reason', 'consent', 'attempt',
  'credential', 'onBehalfOf',
] as const;

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(';') : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * The `base` line of a log whose first records were archived (retention): the frontier of the
 * archived prefix, which the signed checkpoint of that size authenticates. Records follow from
 * sequence number `size` on.
 */
export function baseLine(log: string, size: number, frontier: Frontier): string {
  return JSON.stringify({ type: 'base', log, size, nodes: storedNodes(frontier) });
}

/** The export's lines (each ending with a newline), one log after the other. */
export async function* exportTrail(db: Db, format: ExportFormat, only?: string): AsyncGenerator<string> {
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\n`;
  for (const log of only ? [only] : [...(await listLogs(db)), ...((await adminLogExists(db)) ? [ADMIN_LOG] : [])]) {
    if (log === ADMIN_LOG) {
      if (format === 'jsonl') yield* adminLines(db);
      continue;
    }
    const { size, frontier } = await archivedPrefix(db, log);
    if (format === 'jsonl') {
      yield `${JSON.stringify({ type: 'log', log })}\n`;
      if (size > 0) yield `${baseLine(log, size, frontier)}\n`;
      const checkpoints = db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find({ log }, { projection: { _id: 0 } }).sort({ size: 1, at: 1 });
      for await (const c of checkpoints) yield `${JSON.stringify({ type: 'checkpoint', log, size: c.size, note: c.note })}\n`;
    }
    for await (const block of blocksInSequence(db, log, size)) {
      for (const record of recordsOf(block)) {
        if (!isReadable(record)) {
          // Only tampering makes one; exported as found, verification of the export reports it.
          if (format === 'jsonl') yield `${JSON.stringify({ type: 'record', log, seq: null, unreadable: record.unreadable })}\n`;
          continue;
        }
        if (format === 'jsonl') {
          yield `${JSON.stringify({ type: 'record', log, seq: record.seq, record })}\n`;
        } else if (!record.aborted) {
          const full = { credential: 'token', ...unpackRecord(record), log, seq: record.seq } as unknown as Record<string, unknown>;
          yield `${CSV_COLUMNS.map((c) => csvCell(full[c])).join(',')}\n`;
        }
      }
    }
  }
}

/**
 * The administrative log (admin.ts) in the same lines as an access log: its checkpoints, the
 * records written before it began (`earlier`, oldest first, as their digest in its first record
 * takes them), then each numbered record as stored, without its chain bookkeeping (what its leaf
 * hashes).
 */
async function* adminLines(db: Db): AsyncGenerator<string> {
  yield `${JSON.stringify({ type: 'log', log: ADMIN_LOG })}\n`;
  const checkpoints = db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find({ log: ADMIN_LOG }, { projection: { _id: 0 } }).sort({ size: 1, at: 1 });
  for await (const c of checkpoints) yield `${JSON.stringify({ type: 'checkpoint', log: ADMIN_LOG, size: c.size, note: c.note })}\n`;
  for await (const doc of earlierAdminRecords(db)) yield `${JSON.stringify({ type: 'earlier', log: ADMIN_LOG, record: adminBody(doc) })}\n`;
  for await (const doc of db.collection(ADMIN_COLLECTION).find({ seq: { $exists: true } }).sort({ seq: 1 })) {
    const record = adminBody(doc);
    yield `${JSON.stringify({ type: 'record', log: ADMIN_LOG, seq: record['seq'], record })}\n`;
  }
}

/** Dates in an exported record come back as ISO strings; the canonical JSON is the same. */
interface ExportLine {
  readonly type: 'log' | 'base' | 'checkpoint' | 'earlier' | 'record';
  readonly log: string;
  readonly size?: number;
  readonly nodes?: ReadonlyArray<{ readonly hash: string; readonly size: number }>;
  readonly note?: string;
  readonly seq?: number;
  readonly record?: Record<string, unknown>;
  /** A stored record that was not a JSON object, as found. */
  readonly unreadable?: string;
}

/** Verifies a JSONL export with only the verifier key, in constant memory per log. */
export async function verifyExport(lines: AsyncIterable<string>, verifier: NoteVerifier): Promise<TrailReport> {
  const reports: LogReport[] = [];
  let current: {
    log: string; frontier: Frontier; base: number; baseChecked: boolean; checkpoints: Array<{ size: number; root: Buffer }>; problems: Problem[];
    count: number; verified: number; verifiedCount: number;
    /** The administrative log: the records before it, and what its first record says of them (when it is the log's start). */
    earlier: EarlierDigest; fixed: { earlier?: unknown; digest?: unknown } | undefined;
  } | undefined;
  /** An archived prefix's frontier counts only if a signed checkpoint of its size has its root. */
  const checkBase = () => {
    if (!current || current.baseChecked) return;
    current.baseChecked = true;
    if (current.base === 0) return;
    const signed = current.checkpoints.find((c) => c.size === current!.base);
    if (!signed) {
      current.problems.push({ kind: 'deleted', log: current.log, at: current.base, detail: `no signed checkpoint of size ${current.base} authenticates the archived prefix` });
    } else if (!signed.root.equals(current.frontier.root())) {
      current.problems.push({ kind: 'modified', log: current.log, at: current.base, detail: `the archived prefix's summary does not match the signed checkpoint of size ${current.base}` });
    } else {
      current.verified = current.base;
      current.verifiedCount++;
    }
  };
  const finish = () => {
    if (!current) return;
    checkBase();
    if (current.log === ADMIN_LOG) {
      const problem = earlierProblem(current.earlier.result(), current.fixed, current.base + current.count);
      if (problem) current.problems.push({ ...problem, log: current.log });
    }
    for (const c of current.checkpoints) {
      if (c.size > current.frontier.size) current.problems.push({ kind: 'truncated', log: current.log, at: current.frontier.size, detail: `the signed checkpoint covers ${c.size} records; the export holds ${current.frontier.size}` });
    }
    reports.push({
      log: current.log, archived: current.base, records: current.count, checkpoints: current.verifiedCount, verifiedSize: current.verified,
      uncheckpointed: Math.max(0, current.base + current.count - Math.max(current.verified, current.base)), problems: current.problems,
    });
  };
  let lineNo = 0;
  for await (const text of lines) {
    lineNo++;
    if (text.trim() === '') continue;
    let line: ExportLine;
    try {
      line = JSON.parse(text) as ExportLine;
    } catch {
      throw new Error(`line ${lineNo} is not JSON`);
    }
    if (line.type === 'log') {
      finish();
      current = {
        log: line.log, frontier: new Frontier(), base: 0, baseChecked: false, checkpoints: [], problems: [], count: 0, verified: 0, verifiedCount: 0,
        earlier: new EarlierDigest(), fixed: undefined,
      };
      continue;
    }
    if (!current || line.log !== current.log) throw new Error(`line ${lineNo} belongs to no log header`);
    if (line.type === 'base') {
      if (current.count > 0 || current.base > 0) throw new Error(`line ${lineNo}: a base must come before the log's records, once`);
      try {
        current.frontier = Frontier.restore((line.nodes ?? []).map((n) => ({ hash: Buffer.from(n.hash, 'base64'), size: n.size })));
      } catch (error) {
        throw new Error(`line ${lineNo}: ${(error as Error).message}`, { cause: error });
      }
      if (current.frontier.size !== line.size) throw new Error(`line ${lineNo}: the base's nodes cover ${current.frontier.size} records, not ${line.size}`);
      current.base = current.frontier.size;
      continue;
    }
    if (line.type === 'checkpoint') {
      const opened = openNote(line.note ?? '', verifier);
      if (!opened.ok) {
        current.problems.push({ kind: 'forged-checkpoint', log: current.log, at: line.size ?? 0, detail: opened.reason });
        continue;
      }
      const body = parseCheckpointText(opened.text);
      if (body.origin !== current.log) {
        current.problems.push({ kind: 'forged-checkpoint', log: current.log, at: body.size, detail: `a checkpoint of log ${body.origin} under this log` });
        continue;
      }
      current.checkpoints.push({ size: body.size, root: body.root });
      continue;
    }
    if (line.type === 'record' && typeof line.unreadable === 'string') {
      checkBase();
      current.problems.push({ kind: 'modified', log: current.log, at: current.frontier.size, detail: `record ${current.frontier.size} is not a JSON object` });
      current.frontier.append(lineLeaf(line.unreadable));
      current.count++;
      continue;
    }
    if (line.type === 'earlier') {
      if (current.log !== ADMIN_LOG || current.count > 0 || !line.record) throw new Error(`line ${lineNo}: an earlier record belongs in the administrative log, before its records`);
      current.earlier.add(recordLeaf(line.record));
      continue;
    }
    if (line.type === 'record' && line.record) {
      checkBase();
      if (current.log === ADMIN_LOG && line.seq === 0 && current.count === 0 && line.record['action'] === ADMIN_LOG_START) {
        current.fixed = (line.record['detail'] ?? {}) as { earlier?: unknown; digest?: unknown };
      }
      const seq = line.seq ?? -1;
      if (seq !== current.frontier.size) {
        current.problems.push({ kind: seq > current.frontier.size ? 'deleted' : 'reordered', log: current.log, at: current.frontier.size, detail: `record ${current.frontier.size} expected, record ${seq} found` });
      }
      // JSON gives dates back as the same ISO strings their canonical JSON holds.
      current.frontier.append(recordLeaf(line.record));
      current.count++;
      for (const c of current.checkpoints) {
        if (c.size !== current.frontier.size) continue;
        if (current.frontier.root().equals(c.root)) {
          current.verified = c.size;
          current.verifiedCount++;
        } else {
          current.problems.push({ kind: 'modified', log: current.log, at: c.size, detail: `the records up to ${c.size} do not hash to the signed checkpoint's root` });
        }
      }
    }
  }
  finish();
  return { ok: reports.every((r) => r.problems.length === 0), logs: reports };
}
