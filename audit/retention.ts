/**
 * Retention of the access trail (留存期限): records older than the retention period (3 years at
 * least) are archived to a JSONL export that verifies by itself, then removed; what remains still
 * verifies.
 *
 * A log is cut only at the size of one of its signed checkpoints, so the archive ends on a signed
 * root. The log keeps the frontier of the archived prefix (its O(log n) subtree hashes) in its
 * `audit_logs` document: folding the remaining records onto it gives the roots of every later
 * checkpoint, and the checkpoint at the cut authenticates it. A later archive of the same log
 * starts with that frontier as its `base` line, so each archive verifies on its own.
 *
 * Order of work, so that a crash at any point loses nothing: write the archive file and fsync it;
 * read it back and verify it with the verifier key; record the cut (frontier) in `audit_logs`;
 * only then remove the archived blocks. A run interrupted after recording the cut leaves blocks
 * that verification reports (nothing can check them any more) and the next run removes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, open, rename, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import type { Db } from 'mongodb';
import { appendAdmin } from './admin.ts';
import { blocksInSequence } from './blocks.ts';
import { isReadable, recordsOf } from './encoding.ts';
import { baseLine, verifyExport } from './export.ts';
import { forgetArchivedNodes } from './tree.ts';
import { archivedPrefix, CHECKPOINTS_COLLECTION, LOGS_COLLECTION, recordLeaf, storedNodes, type ArchivedPrefix, type CheckpointDoc, type LogDoc } from './log.ts';
import { openNote, parseCheckpointText, type NoteVerifier } from './note.ts';
import type { EvidenceBlock } from './record.ts';
import { listLogs } from './verify.ts';
import { ACCESS_COLLECTION } from './writer.ts';

/** Three years: the floor of the retention period (and its default), in days (a leap day included). */
export const MIN_RETENTION_DAYS = 1096;

const LOCKS_COLLECTION = 'audit_locks';
const LOCK_ID = 'archive';
/** A lock older than this belongs to a run that died; the next run may take it over. */
const STALE_LOCK_MS = 6 * 3600_000;

export class RetentionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetentionError';
  }
}

/** The cut-off of a retention period: records written before it may be archived. */
export function retentionCutoff(now: Date, retentionDays: number): Date {
  if (!Number.isInteger(retentionDays) || retentionDays < MIN_RETENTION_DAYS) {
    throw new RetentionError(`the retention period is at least ${MIN_RETENTION_DAYS} days (3 years); ${retentionDays} was given`);
  }
  return new Date(now.getTime() - retentionDays * 86_400_000);
}

export interface ArchivedLog {
  readonly log: string;
  /** Sequence numbers archived by this run: from (inclusive) to (exclusive). */
  readonly from: number;
  readonly to: number;
}

export interface ArchiveResult {
  readonly file: string | null;
  readonly sha256: string | null;
  readonly records: number;
  readonly logs: readonly ArchivedLog[];
  /** Logs with old records that could not be cut, and why (e.g. no signed checkpoint yet). */
  readonly skipped: ReadonlyArray<{ readonly log: string; readonly reason: string }>;
}

export interface ArchiveOptions {
  /** Records written before this instant are archived (only whole blocks, up to a signed checkpoint). */
  readonly before: Date;
  /** The archive file to write (JSONL, the export format); must not exist. */
  readonly out: string;
  readonly verifier: NoteVerifier;
  /** Who runs it, for the admin-change record. */
  readonly actor: string;
  readonly role: string;
  /** Plan only: say what would be archived, write and remove nothing. */
  readonly dryRun?: boolean;
}

interface Plan {
  readonly log: string;
  readonly base: number;
  readonly cut: number;
  /** The signed checkpoints from the base to the cut (their notes verified), ascending. */
  readonly checkpoints: ReadonlyArray<{ readonly size: number; readonly root: Buffer; readonly note: string }>;
}

/** Where a log can be cut: the largest signed checkpoint size not beyond its old blocks. */
async function planLog(db: Db, log: string, before: Date, verifier: NoteVerifier): Promise<Plan | { log: string; reason: string } | null> {
  const { size: base } = await archivedPrefix(db, log);
  // Small projections sorted here: FerretDB 1.24 would sort whole blocks in its own memory.
  const blocks = (await db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({ log, seq: { $gte: base } }, { projection: { _id: 0, seq: 1, count: 1, last: 1 } }).toArray())
    .sort((x, y) => (x.seq ?? 0) - (y.seq ?? 0));
  let oldEnd = base;
  for (const b of blocks) {
    if (b.seq !== oldEnd || b.last >= before) break;
    oldEnd += b.count;
  }
  if (oldEnd === base) return null;
  const checkpoints = await db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find({ log, size: { $gte: base, $lte: oldEnd } }, { projection: { _id: 0 } }).sort({ size: 1 }).toArray();
  const authentic = checkpoints.flatMap((c) => {
    const opened = openNote(c.note, verifier);
    if (!opened.ok) return [];
    try {
      const body = parseCheckpointText(opened.text);
      return body.origin === log && body.size === c.size ? [{ size: body.size, root: body.root, note: c.note }] : [];
    } catch {
      return [];
    }
  });
  const cut = largestSize(authentic);
  if (cut <= base) return { log, reason: `${oldEnd - base} records are past retention, but no signed checkpoint ends among them yet` };
  return { log, base, cut, checkpoints: authentic.filter((c) => c.size <= cut) };
}

/**
 * The largest size among checkpoints (0 for none). A loop, not `Math.max(...sizes)`: a long-lived
 * log has more checkpoints (one every 10 s while it writes) than spread arguments fit on the stack
 * (≈ 125 000).
 */
export function largestSize(checkpoints: ReadonlyArray<{ readonly size: number }>): number {
  let largest = 0;
  for (const c of checkpoints) if (c.size > largest) largest = c.size;
  return largest;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

async function takeLock(db: Db, actor: string): Promise<void> {
  const locks = db.collection<{ _id: string; at: Date; actor: string }>(LOCKS_COLLECTION);
  try {
    await locks.insertOne({ _id: LOCK_ID, at: new Date(), actor });
  } catch (error) {
    if ((error as { code?: number }).code !== 11000) throw error;
    const held = await locks.findOne({ _id: LOCK_ID });
    if (held && Date.now() - held.at.getTime() < STALE_LOCK_MS) {
      throw new RetentionError(`another archive run (${held.actor}, since ${held.at.toISOString()}) is in progress`);
    }
    await locks.deleteOne({ _id: LOCK_ID, at: held?.at ?? new Date(0) });
    await locks.insertOne({ _id: LOCK_ID, at: new Date(), actor });
  }
}

/** Archives every log's records older than `before` to one verifiable file, then removes them. */
export async function archiveTrail(db: Db, options: ArchiveOptions): Promise<ArchiveResult> {
  const plans: Plan[] = [];
  const skipped: Array<{ log: string; reason: string }> = [];
  if (!options.dryRun && (await exists(options.out))) throw new RetentionError(`${options.out} exists; choose another file`);
  await takeLock(db, options.actor);
  try {
    for (const log of await listLogs(db)) {
      // Blocks an interrupted run left below a recorded cut: archived already, remove them now.
      const { size } = await archivedPrefix(db, log);
      if (size > 0 && !options.dryRun) await db.collection(ACCESS_COLLECTION).deleteMany({ log, seq: { $lt: size } }, { writeConcern: { w: 'majority', journal: true } });
      const plan = await planLog(db, log, options.before, options.verifier);
      if (!plan) continue;
      if ('reason' in plan) skipped.push(plan);
      else plans.push(plan);
    }
    const logs = plans.map((p) => ({ log: p.log, from: p.base, to: p.cut }));
    const records = plans.reduce((n, p) => n + p.cut - p.base, 0);
    if (plans.length === 0 || options.dryRun) return { file: null, sha256: null, records, logs, skipped };

    const { sha256, frontiers } = await writeArchive(db, plans, options.out);
    const report = await verifyExport(createInterface({ input: createReadStream(options.out, 'utf8'), crlfDelay: Infinity }), options.verifier);
    const wrong = report.logs.find((l) => l.problems.length > 0 || l.verifiedSize !== plans.find((p) => p.log === l.log)?.cut);
    if (!report.ok || wrong) {
      await rm(options.out, { force: true });
      throw new RetentionError(`the archive does not verify (${wrong ? `${wrong.log}: ${wrong.problems[0]?.detail ?? `verified to ${wrong.verifiedSize}`}` : 'see hub audit verify'}); nothing was removed`);
    }
    for (const plan of plans) {
      const archived: ArchivedPrefix = {
        size: plan.cut, nodes: frontiers.get(plan.log)!, at: new Date(), file: basename(options.out), sha256,
      };
      await db.collection<LogDoc>(LOGS_COLLECTION).updateOne({ origin: plan.log }, { $set: { archived } }, { writeConcern: { w: 'majority', journal: true } });
      await db.collection(ACCESS_COLLECTION).deleteMany({ log: plan.log, seq: { $lt: plan.cut } }, { writeConcern: { w: 'majority', journal: true } });
      // The stored subtree hashes wholly inside the prefix: its frontier stands in for them now.
      await forgetArchivedNodes(db, plan.log, plan.cut);
    }
    await appendAdmin(db, {
      actor: options.actor, role: options.role, action: 'audit.archive', target: basename(options.out),
      after: { sha256, records, before: options.before.toISOString(), logs },
    });
    return { file: options.out, sha256, records, logs, skipped };
  } finally {
    await db.collection(LOCKS_COLLECTION).deleteOne({ _id: LOCK_ID as never });
  }
}

/**
 * Writes the archive (the JSONL export format: log, base, checkpoints, records), re-hashing each
 * record on the way and checking the cut's root; returns the file's SHA-256 and each log's
 * frontier at the cut. Written to a temporary name, fsynced, then renamed.
 */
async function writeArchive(db: Db, plans: readonly Plan[], out: string): Promise<{ sha256: string; frontiers: Map<string, ArchivedPrefix['nodes']> }> {
  const partial = `${out}.partial`;
  const file = await open(partial, 'wx').catch((error: NodeJS.ErrnoException) => {
    throw new RetentionError(error.code === 'EEXIST' ? `${partial} exists: a previous run was interrupted; remove it and run again` : `cannot write ${out}: ${error.message}`);
  });
  const hash = createHash('sha256');
  const frontiers = new Map<string, ArchivedPrefix['nodes']>();
  let buffered: string[] = [];
  let bytes = 0;
  const write = async (line: string) => {
    buffered.push(line);
    bytes += line.length;
    if (bytes >= 1 << 20) await flush();
  };
  const flush = async () => {
    const chunk = buffered.join('');
    buffered = [];
    bytes = 0;
    hash.update(chunk, 'utf8');
    await file.write(chunk, null, 'utf8');
  };
  try {
    for (const plan of plans) {
      const { frontier } = await archivedPrefix(db, plan.log);
      await write(`${JSON.stringify({ type: 'log', log: plan.log })}\n`);
      if (plan.base > 0) await write(`${baseLine(plan.log, plan.base, frontier)}\n`);
      for (const c of plan.checkpoints) await write(`${JSON.stringify({ type: 'checkpoint', log: plan.log, size: c.size, note: c.note })}\n`);
      for await (const block of blocksInSequence(db, plan.log, plan.base)) {
        if ((block.seq ?? 0) >= plan.cut) break;
        for (const record of recordsOf(block)) {
          if (!isReadable(record) || record.seq !== frontier.size) throw new RetentionError(`log ${plan.log}: record ${frontier.size} expected, ${String(record.seq)} found; run hub audit verify`);
          frontier.append(recordLeaf(record));
          await write(`${JSON.stringify({ type: 'record', log: plan.log, seq: record.seq, record })}\n`);
        }
      }
      const signed = plan.checkpoints.find((c) => c.size === plan.cut)!;
      if (frontier.size !== plan.cut || !frontier.root().equals(signed.root)) {
        throw new RetentionError(`log ${plan.log}: the records up to ${plan.cut} do not hash to the signed checkpoint; run hub audit verify`);
      }
      frontiers.set(plan.log, storedNodes(frontier));
    }
    await flush();
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(partial, { force: true });
    throw error;
  }
  await file.close();
  await rename(partial, out);
  return { sha256: hash.digest('hex'), frontiers };
}
