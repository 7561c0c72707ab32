/**
 * Exports of the trail, streamed in constant memory, and their offline verification.
 *
 * JSONL (verifiable): per log, a `log` line, its signed `checkpoint` lines (ascending size), then
 * every `record` line in sequence order. Anyone with the verifier key re-hashes the records, folds
 * them into the RFC 6962 tree (a frontier: O(log n) memory) and checks each checkpoint's signature
 * and root as the tree reaches its size.
 * CSV (for spreadsheets): one access record per row; not self-verifying.
 */
import type { Db } from 'mongodb';
import { CHECKPOINTS_COLLECTION, recordLeaf, type CheckpointDoc } from './log.ts';
import { Frontier } from './merkle.ts';
import { openNote, parseCheckpointText, type NoteVerifier } from './note.ts';
import { unpackRecord, type EvidenceBlock } from './record.ts';
import type { LogReport, Problem, TrailReport } from './verify.ts';
import { listLogs } from './verify.ts';
import { ACCESS_COLLECTION } from './writer.ts';

export type ExportFormat = 'jsonl' | 'csv';

const CSV_COLUMNS = [
  'log', 'seq', 'at', 'requestId', 'action', 'system', 'department', 'principalKind', 'operator', 'purpose', 'caseId', 'resource', 'provider',
  'subjectType', 'subject', 'itemsReturned', 'itemsMasked', 'itemsRefused', 'itemsVerified', 'grants', 'decision', 'code', 'denial', 'reason', 'consent', 'attempt',
] as const;

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(';') : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The export's lines (each ending with a newline), one log after the other. */
export async function* exportTrail(db: Db, format: ExportFormat, only?: string): AsyncGenerator<string> {
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\n`;
  for (const log of only ? [only] : await listLogs(db)) {
    if (format === 'jsonl') {
      yield `${JSON.stringify({ type: 'log', log })}\n`;
      const checkpoints = db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find({ log }, { projection: { _id: 0 } }).sort({ size: 1, at: 1 });
      for await (const c of checkpoints) yield `${JSON.stringify({ type: 'checkpoint', log, size: c.size, note: c.note })}\n`;
    }
    const blocks = db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({ log }, { projection: { _id: 0, leaves: 0 } }).sort({ seq: 1 }).batchSize(16);
    for await (const block of blocks) {
      for (const record of block.records) {
        if (format === 'jsonl') {
          yield `${JSON.stringify({ type: 'record', log, seq: record.seq, record })}\n`;
        } else if (!record.aborted) {
          const full = { ...unpackRecord(record), log, seq: record.seq } as unknown as Record<string, unknown>;
          yield `${CSV_COLUMNS.map((c) => csvCell(full[c])).join(',')}\n`;
        }
      }
    }
  }
}

/** Dates in an exported record come back as ISO strings; the canonical JSON is the same. */
interface ExportLine {
  readonly type: 'log' | 'checkpoint' | 'record';
  readonly log: string;
  readonly size?: number;
  readonly note?: string;
  readonly seq?: number;
  readonly record?: Record<string, unknown>;
}

/** Verifies a JSONL export with only the verifier key, in constant memory per log. */
export async function verifyExport(lines: AsyncIterable<string>, verifier: NoteVerifier): Promise<TrailReport> {
  const reports: LogReport[] = [];
  let current: { log: string; frontier: Frontier; checkpoints: Array<{ size: number; root: Buffer }>; problems: Problem[]; count: number; verified: number; verifiedCount: number } | undefined;
  const finish = () => {
    if (!current) return;
    for (const c of current.checkpoints) {
      if (c.size > current.frontier.size) current.problems.push({ kind: 'truncated', log: current.log, at: current.frontier.size, detail: `the signed checkpoint covers ${c.size} records; the export holds ${current.frontier.size}` });
    }
    reports.push({
      log: current.log, records: current.count, checkpoints: current.verifiedCount, verifiedSize: current.verified,
      uncheckpointed: Math.max(0, current.count - current.verified), problems: current.problems,
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
      current = { log: line.log, frontier: new Frontier(), checkpoints: [], problems: [], count: 0, verified: 0, verifiedCount: 0 };
      continue;
    }
    if (!current || line.log !== current.log) throw new Error(`line ${lineNo} belongs to no log header`);
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
    if (line.type === 'record' && line.record) {
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
