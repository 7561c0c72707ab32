/**
 * The unsigned tail of a stopped process's log. A hub signs its log's checkpoints every few
 * seconds and at shutdown; a process that dies (killed, out of memory, its machine lost) leaves the
 * records after its last checkpoint unsigned, and a database administrator could remove or change
 * them unseen by verification. So the other hubs watch the logs: one whose process has given no
 * sign of life (`seen`, every checkpoint interval, log.ts) for `audit.adoptAfterSeconds`, and was
 * not closed, is read whole, verified against its own checkpoints, and, when that finds nothing
 * wrong, its gap-free durable prefix is signed under its own origin by the adopting hub (with the
 * deployment's key). Then the log is marked adopted, so it is read once. What was there when it
 * was adopted is what is signed: the window in which its tail could be changed unseen is
 * `adoptAfterSeconds`, not forever. A log that does not verify is not signed (verification reports
 * why); the mark says so.
 *
 * Reading a log whole costs the reader (≈ 25 s of CPU for 10^6 records) and the database, so one
 * hub does it at a time: it holds a lease on the log (`audit_adoptions`, renewed while it reads),
 * and the others pass the log by until it is adopted, or until the lease runs out (its reader
 * died: another takes the next lease; a minute, or `adoptAfterSeconds` when shorter). A lease is taken by inserting it under a numbered `_id`
 * (`<log>#<n>`), so exactly one hub gets each number, on MongoDB and on FerretDB alike (whose
 * updates are not atomic compare-and-set).
 */
import type { Collection, Db } from 'mongodb';
import { ACCESS_COLLECTION } from './writer.ts';
import { CHECKPOINTS_COLLECTION, LOGS_COLLECTION, storeCheckpoint, type CheckpointDoc, type LogDoc } from './log.ts';
import { parseVerifierKey, type NoteSigner } from './note.ts';
import type { EvidenceBlock } from './record.ts';
import { inspectLog } from './verify.ts';

export interface Adoption {
  readonly log: string;
  /** The size signed now, or already signed when nothing was left; null when the log was not signed. */
  readonly size: number | null;
  /** Why it was not signed (verification's first problem). */
  readonly problem?: string;
}

/**
 * Signs the unsigned tails of the logs whose processes stopped without closing them (no sign of
 * life for `idleMs`), other than `own`; marks each adopted. Returns what it did, log by log.
 */
export async function adoptStoppedLogs(db: Db, options: { readonly own: string; readonly signer: NoteSigner; readonly idleMs: number; readonly now?: Date }): Promise<Adoption[]> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.idleMs);
  const logs = db.collection<LogDoc>(LOGS_COLLECTION);
  const stopped = await logs.find({
    origin: { $ne: options.own }, closed: { $exists: false }, adopted: { $exists: false },
    $or: [{ seen: { $lt: cutoff } }, { seen: { $exists: false }, startedAt: { $lt: cutoff } }],
  }, { projection: { _id: 0, origin: 1 } }).toArray();
  const done: Adoption[] = [];
  const leases = db.collection<LeaseDoc>(ADOPTIONS_COLLECTION);
  const clock = () => options.now ?? new Date();
  // A reader silent as long as a log's writer is before it is taken for dead (at most a minute):
  // another hub takes the log over.
  const leaseMs = Math.min(ADOPT_LEASE_MS, options.idleMs);
  for (const { origin } of stopped) {
    const lease = await takeLease(leases, origin, options.own, clock(), leaseMs);
    if (!lease) continue;
    const renewal = setInterval(() => {
      void leases.updateOne({ _id: lease._id }, { $set: { until: new Date(clock().getTime() + leaseMs) } }).catch(() => undefined);
    }, leaseMs / 3);
    renewal.unref();
    let adoption: Adoption;
    try {
      // Adopted or closed since the look-up (the lease of a reader that just finished is gone).
      if (!(await logs.findOne({ origin, closed: { $exists: false }, adopted: { $exists: false } }, { projection: { _id: 1 } }))) {
        await leases.deleteOne({ _id: lease._id });
        continue;
      }
      adoption = await adoptLog(db, origin, options.signer);
    } catch (error) {
      // Left to the next round, of this hub or another.
      await leases.updateOne({ _id: lease._id }, { $set: { until: new Date(0) } }).catch(() => undefined);
      throw error;
    } finally {
      clearInterval(renewal);
    }
    const mark = { at: new Date(), by: options.own, size: adoption.size, ...(adoption.problem ? { problem: adoption.problem } : {}) };
    await logs.updateOne({ origin, adopted: { $exists: false } }, { $set: { adopted: mark } });
    await leases.deleteMany({ origin });
    done.push(adoption);
  }
  return done;
}

/** Where the hubs reading stopped logs hold their leases. */
export const ADOPTIONS_COLLECTION = 'audit_adoptions';

/**
 * How long a hub holds a log it reads for adoption without renewing its lease (renewed every third
 * of it): this, or `audit.adoptAfterSeconds` when shorter.
 */
export const ADOPT_LEASE_MS = 60_000;

/** A hub's lease on a log it reads for adoption: the `n`th of the log, held by `by` until `until`. */
export interface LeaseDoc {
  readonly _id: string;
  readonly origin: string;
  readonly n: number;
  readonly by: string;
  readonly until: Date;
}

/** The next lease on `origin` for `own`, unless another hub's runs past `now` (or took that number first). */
async function takeLease(leases: Collection<LeaseDoc>, origin: string, own: string, now: Date, leaseMs: number): Promise<LeaseDoc | null> {
  const current = await leases.find({ origin }).sort({ n: -1 }).limit(1).next();
  if (current && current.until > now) return null;
  const n = (current?.n ?? 0) + 1;
  const lease: LeaseDoc = { _id: `${origin}#${n}`, origin, n, by: own, until: new Date(now.getTime() + leaseMs) };
  try {
    await leases.insertOne(lease);
    return lease;
  } catch (error) {
    if ((error as { code?: unknown }).code === 11000) return null;
    throw error;
  }
}

/** The logs hubs are reading for adoption now: origin → the hub and the end of its lease. */
export async function adoptionsUnderWay(db: Db, now = new Date()): Promise<Map<string, { by: string; until: Date }>> {
  const out = new Map<string, { by: string; until: Date }>();
  for await (const lease of db.collection<LeaseDoc>(ADOPTIONS_COLLECTION).find({ until: { $gt: now } }).sort({ n: 1 })) out.set(lease.origin, { by: lease.by, until: lease.until });
  return out;
}

/**
 * Signs a log's durable, gap-free prefix when that grew past its latest checkpoint, after verifying
 * the log whole. A log whose last block ends within its latest checkpoint has nothing unsigned and
 * is not read (the logs of hubs that stopped cleanly before they marked their logs closed, say).
 */
export async function adoptLog(db: Db, log: string, signer: NoteSigner): Promise<Adoption> {
  const latest = await db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find({ log }, { projection: { _id: 0, size: 1 } }).sort({ size: -1 }).limit(1).next();
  const last = await db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({ log }, { projection: { _id: 0, seq: 1, count: 1 } }).sort({ seq: -1 }).limit(1).next();
  const end = last ? (last.seq ?? 0) + last.count : 0;
  if (latest && end <= latest.size) return { log, size: latest.size };
  const { report, complete: size, root } = await inspectLog(db, log, parseVerifierKey(signer.verifierKey));
  const first = report.problems[0];
  if (first) return { log, size: null, problem: `${first.kind} at ${first.at}: ${first.detail}` };
  if (report.uncheckpointed === 0) return { log, size: report.verifiedSize };
  await storeCheckpoint(db, signer, log, size, root);
  return { log, size };
}
