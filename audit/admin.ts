/**
 * Administrative evidence (管理留痕): who changed the hub's registry, credentials, grants,
 * applications, demands or consents, in which role, when, what, the state before and after, and
 * why. Kept apart from access evidence (X-Road style); written before the change is reported done.
 *
 * The records form one log of their own, `admin`, shared by every hub instance and `hub` command:
 * record n has the sequence number `seq` n (a unique index: exactly one writer, of any process, gets
 * each number, so the log has no fork and no gap), the leaf hash of its RFC 8785 canonical JSON
 * (`leaf`, as access records: SHA-256(0x00 ‖ bytes)), and the frontier of the RFC 6962 tree after
 * it (`frontier`, so the next writer extends the tree without reading it). Checkpoints of that tree
 * are signed like the access logs' (`checkpointAdmin`: by every hub on its checkpoint timer, and by
 * a `hub` command with the signing key after its change), so a database administrator who changes,
 * deletes or inserts an administrative record is found by verification (verify.ts), as for access.
 * What is hashed is the record as the database gives it back (its BSON, read back), so the stored
 * bytes and the leaf always agree.
 */
import { createHash } from 'node:crypto';
import { Binary, BSON, type Db, type Document } from 'mongodb';
import { CHECKPOINTS_COLLECTION, prefixNodes, recordLeaf, storeCheckpoint, storedNodes, type ArchivedPrefix, type CheckpointDoc } from './log.ts';
import { Frontier, nodeHash, type Hash } from './merkle.ts';
import type { NoteSigner } from './note.ts';

export const ADMIN_COLLECTION = 'audit_admin';

/** The administrative log's name: its checkpoints' origin line (access logs' names have slashes). */
export const ADMIN_LOG = 'admin';

export interface AdminRecord {
  readonly at: Date;
  /** Who made the change: a principal id, `cli:<os user>`, or `config` (catalogue files). */
  readonly actor: string;
  /** The actor's role: system, officer, admin, auditor, portal, cli, config, or hub (the log's own first record). */
  readonly role?: string;
  /** The actor's department, when it has one. */
  readonly department?: string | null;
  /** e.g. `token.create`, `application.approve`, `grant.suspend`, `catalogue.sync`. */
  readonly action: string;
  /** What was changed: an application or grant id, a system code, a credential id, a digest. */
  readonly target: string;
  /** The changed object before and after (non-personal: never tokens or subject identifiers). */
  readonly before?: unknown;
  readonly after?: unknown;
  /** Why, as the actor stated it. */
  readonly reason?: string | null;
  /** Other non-personal detail: counts, versions. */
  readonly detail?: Readonly<Record<string, unknown>>;
  /** Its place in the administrative log (absent only on records written before the log existed). */
  readonly seq?: number;
}

/** Hidden from readers of the records: the chain's own bookkeeping. */
export const ADMIN_PROJECTION = { _id: 0, leaf: 0, frontier: 0 } as const;

const WRITE_CONCERN = { writeConcern: { w: 'majority', journal: true } } as const;

/** Tries of one record when other processes keep taking the next number first. */
const MAX_TRIES = 50;

export class AdminLogError extends Error {}

/** The part of a stored record its leaf hashes: everything but `_id`, `leaf` and `frontier`. */
export function adminBody(doc: Document): Document {
  const { _id: _id, leaf: _leaf, frontier: _frontier, ...body } = doc;
  return body;
}

export const adminLeaf = (doc: Document): Hash => recordLeaf(adminBody(doc));

interface Chain {
  /** Appends of this process, one at a time (others' are ordered by the unique index). */
  queue: Promise<unknown>;
  /** The tree as this process last wrote or read it; undefined: read it before the next append. */
  tail: Frontier | undefined;
  index: Promise<void> | undefined;
  /** Whether this process saw the log begun (or began it). */
  started: boolean;
}

const chains = new WeakMap<Db, Chain>();

function chainOf(db: Db): Chain {
  let chain = chains.get(db);
  if (!chain) chains.set(db, (chain = { queue: Promise.resolve(), tail: undefined, index: undefined, started: false }));
  return chain;
}

/**
 * The unique index that makes the log exact (sparse: records written before the log existed have
 * no `seq`; FerretDB ignores `sparse`, but its unique index lets any number of records lack the field).
 * Created once per database handle; a failure is tried again on the next append.
 */
function ensureIndex(db: Db, chain: Chain): Promise<void> {
  chain.index ??= db.collection(ADMIN_COLLECTION).createIndex({ seq: 1 }, { name: 'admin_seq', unique: true, sparse: true })
    .then(() => undefined, (error: unknown) => {
      chain.index = undefined;
      throw error;
    });
  return chain.index;
}

/**
 * The tree of the log as stored: the last record's frontier, or, when that does not fit (changed
 * by hand), the tree of every record's stored leaf. Throws AdminLogError when the log has a gap.
 */
async function readTail(db: Db): Promise<Frontier> {
  const records = db.collection(ADMIN_COLLECTION);
  const last = await records.find({ seq: { $exists: true } }, { projection: { seq: 1, frontier: 1 } }).sort({ seq: -1 }).limit(1).next();
  if (!last) return new Frontier();
  const stored = storedFrontier(last);
  if (stored) return stored;
  // Rebuilt from the leaves.
  const frontier = new Frontier();
  for await (const doc of records.find({ seq: { $exists: true } }, { projection: { seq: 1, leaf: 1 } }).sort({ seq: 1 })) {
    const leaf = doc['leaf'] instanceof Binary ? Buffer.from(doc['leaf'].buffer) : undefined;
    if (doc['seq'] !== frontier.size || leaf?.length !== 32) {
      throw new AdminLogError(`the administrative log is damaged at record ${frontier.size} (run \`hub audit verify\`)`);
    }
    frontier.append(leaf);
  }
  return frontier;
}

/**
 * The frontier stored with a record, when it is the tree after that record; undefined when it is
 * not (a database administrator may have written anything there).
 */
function storedFrontier(doc: Document | undefined): Frontier | undefined {
  if (typeof doc?.['seq'] !== 'number') return undefined;
  try {
    const frontier = Frontier.restore(prefixNodes({ nodes: doc['frontier'] as ArchivedPrefix['nodes'] }));
    return frontier.size === doc['seq'] + 1 ? frontier : undefined;
  } catch {
    return undefined;
  }
}

const isDuplicate = (error: unknown) => (error as { code?: unknown }).code === 11000;

/**
 * Appends `body` (its `seq` set here) as the next record of the log; resolves with its number. With
 * `onlyAt`, only as that record: false when the log is already past it.
 */
async function chainOne(db: Db, chain: Chain, body: Document, onlyAt?: number): Promise<number | false> {
  const records = db.collection(ADMIN_COLLECTION);
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const tree = chain.tail ?? (await readTail(db));
    const seq = tree.size;
    if (onlyAt !== undefined && seq !== onlyAt) {
      chain.tail = tree;
      return false;
    }
    // What the database will give back: BSON's view of the record (undefined → null, Map → object …).
    const stored = BSON.deserialize(BSON.serialize({ ...body, seq }));
    const leaf = adminLeaf(stored);
    const next = Frontier.restore(tree.nodes());
    next.append(leaf);
    chain.tail = undefined;
    try {
      await records.insertOne({ ...stored, leaf: new Binary(leaf), frontier: storedNodes(next) }, WRITE_CONCERN);
      chain.tail = next;
      return seq;
    } catch (error) {
      // Another process took this number: read the tree again and take the next one.
      if (!isDuplicate(error)) throw error;
    }
  }
  throw new AdminLogError(`could not take a place in the administrative log in ${MAX_TRIES} tries (other writers kept taking it)`);
}

function enqueue<T>(chain: Chain, work: () => Promise<T>): Promise<T> {
  const run = chain.queue.then(work);
  chain.queue = run.catch(() => undefined);
  return run;
}

/** The action of the log's first record when records written before the log exist (see `startAdminLog`). */
export const ADMIN_LOG_START = 'audit.adminlog.start';

/**
 * The records written before the administrative log existed (no `seq`), oldest first: how many,
 * and the SHA-256 of their leaf hashes in that order (one pass, constant memory).
 */
export async function earlierAdmin(db: Db): Promise<{ count: number; digest: string }> {
  const digest = new EarlierDigest();
  for await (const doc of earlierAdminRecords(db)) digest.add(adminLeaf(doc));
  return digest.result();
}

/** The records written before the administrative log existed, oldest first (the order their digest takes). */
export function earlierAdminRecords(db: Db): AsyncIterable<Document> {
  // No index serves it (the records of years, once at the upgrade, and at each verification and
  // export): a sort that may spill to disk on MongoDB.
  return db.collection(ADMIN_COLLECTION).find({ seq: { $exists: false } }, { allowDiskUse: true }).sort({ at: 1, _id: 1 });
}

/** The count and digest of the records before the log, from their leaves in order (`earlierAdmin`, and an export's verification). */
export class EarlierDigest {
  readonly #hash = createHash('sha256');
  count = 0;

  add(leaf: Hash): void {
    this.#hash.update(leaf);
    this.count++;
  }

  result(): { count: number; digest: string } {
    return { count: this.count, digest: this.#hash.copy().digest('base64') };
  }
}

/**
 * What the count and digest of the records before the log say against the log's first record
 * (`fixed`: its `detail`, when it is the log's start; undefined otherwise): a problem's kind and
 * detail, or undefined when they match. `at`: where the log's records end, for one added beside it.
 */
export function earlierProblem(found: { count: number; digest: string }, fixed: { earlier?: unknown; digest?: unknown } | undefined, at: number): { kind: 'inserted' | 'deleted' | 'modified'; at: number; detail: string } | undefined {
  const expected = typeof fixed?.earlier === 'number' ? fixed.earlier : 0;
  if (found.count > expected) {
    return { kind: 'inserted', at, detail: `${found.count - expected} more administrative record(s) lie outside the log (no sequence number) than the ${expected} written before it began: added beside the hub` };
  }
  if (found.count < expected) return { kind: 'deleted', at: 0, detail: `${expected - found.count} of the ${expected} administrative records written before the log began are gone` };
  if (expected > 0 && found.digest !== fixed?.digest) return { kind: 'modified', at: 0, detail: `the ${expected} administrative records written before the log began do not match the digest its first record holds` };
  return undefined;
}

/**
 * Starts the log on a database whose administrative records were written by an older hub: its
 * first record (number 0) holds their count and digest, so they are under the log's checkpoints
 * as they are, without rewriting them (a hub starts at once however many there are). Only while
 * the log is empty: records slipped in beside it later are never taken in. The first writer of
 * any process does this before its first record; a hub does it at start. Resolves with the count
 * it fixed (0: nothing to fix, or the log had begun).
 */
export async function startAdminLog(db: Db): Promise<number> {
  const chain = chainOf(db);
  await ensureIndex(db, chain);
  return enqueue(chain, () => start(db, chain));
}

async function start(db: Db, chain: Chain): Promise<number> {
  if (chain.started) return 0;
  const tree = chain.tail ?? (await readTail(db));
  chain.tail = tree;
  if (tree.size > 0) {
    chain.started = true;
    return 0;
  }
  const earlier = await earlierAdmin(db);
  if (earlier.count > 0) {
    const body = {
      at: new Date(), actor: 'hub', role: 'hub', department: null, action: ADMIN_LOG_START, target: ADMIN_LOG,
      reason: 'the administrative records written before the administrative log, fixed by their count and digest',
      detail: { earlier: earlier.count, digest: earlier.digest },
    };
    // Another writer may begin the log first: then the earlier records are its business, or no one's.
    if ((await chainOne(db, chain, body, 0)) === false) {
      chain.started = true;
      return 0;
    }
  }
  chain.started = true;
  return earlier.count;
}

/** Writes an administrative record as the next record of the administrative log; resolves with its number once durable. */
export async function appendAdmin(db: Db, record: Omit<AdminRecord, 'at' | 'seq'>): Promise<number> {
  const chain = chainOf(db);
  const at = new Date();
  await ensureIndex(db, chain);
  return enqueue(chain, async () => {
    await start(db, chain);
    return (await chainOne(db, chain, { at, ...record })) as number;
  });
}

/**
 * Signs a checkpoint of the administrative log when it grew past the latest one (any process's
 * records count). Several hubs signing the same size store one checkpoint. Returns the latest.
 */
export async function checkpointAdmin(db: Db, signer: NoteSigner): Promise<CheckpointDoc | null> {
  const checkpoints = db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION);
  const tree = await readTail(db);
  const latest = await checkpoints.find({ log: ADMIN_LOG }, { projection: { _id: 0 } }).sort({ size: -1 }).limit(1).next();
  if (tree.size === 0 || (latest && latest.size >= tree.size)) return latest;
  return storeCheckpoint(db, signer, ADMIN_LOG, tree.size, tree.root());
}

/** Whether the administrative log has anything to verify or export: a record (numbered or not) or a checkpoint. */
export async function adminLogExists(db: Db): Promise<boolean> {
  if (await db.collection(ADMIN_COLLECTION).findOne({}, { projection: { _id: 1 } })) return true;
  return (await db.collection(CHECKPOINTS_COLLECTION).findOne({ log: ADMIN_LOG }, { projection: { _id: 1 } })) !== null;
}

export async function lastAdmin(db: Db, action: string): Promise<AdminRecord | null> {
  return db.collection<AdminRecord>(ADMIN_COLLECTION).find({ action }, { projection: ADMIN_PROJECTION }).sort({ at: -1 }).limit(1).next();
}

/** Admin records about one target, oldest first (an object's administrative history). */
export async function adminRecordsFor(db: Db, target: string, limit = 1000): Promise<AdminRecord[]> {
  return db.collection<AdminRecord>(ADMIN_COLLECTION).find({ target }, { projection: ADMIN_PROJECTION }).sort({ at: 1 }).limit(limit).toArray();
}

/**
 * The sizes of the complete subtrees a tree of `size` leaves decomposes into, largest first, as
 * `[lo, hi)` ranges: the nodes of its frontier (RFC 6962 trees split only at their boundaries).
 */
function frontierRanges(size: number): Array<readonly [number, number]> {
  const out: Array<readonly [number, number]> = [];
  let lo = 0;
  for (let bit = 2 ** Math.floor(Math.log2(Math.max(size, 1))); bit >= 1; bit /= 2) {
    if (Math.floor(size / bit) % 2 === 1) {
      out.push([lo, lo + bit]);
      lo += bit;
    }
  }
  return out;
}

/**
 * The hashes of subtrees `[lo, hi)` of the log's tree, each a node of an RFC 6962 tree over the log
 * (a complete aligned subtree, or the right edge of a tree of `hi` records), from the records'
 * stored frontiers and leaves: O(log n) records for a proof, where the leaves would be every record
 * up to its checkpoint. `[lo, hi)` is the right-to-left fold of the nodes that the frontier stored
 * with record `hi − 1` has from `lo` on, where `lo` is one of that frontier's boundaries (the right
 * edge of a tree, and a left child); otherwise (a right child) of those stored with record `hi − 2`
 * and the leaf of record `hi − 1`. Undefined when a stored frontier or leaf needed is not there or
 * does not fit (changed by hand): the caller reads the leaves instead. No trust is placed in them:
 * whoever receives a proof checks it against the signed root.
 */
export async function storedAdminHashes(db: Db, ranges: ReadonlyArray<readonly [number, number]>): Promise<Hash[] | undefined> {
  type Source = { frontierAt: number; leafAt?: number } | { leafAt: number };
  const sources: Source[] = ranges.map(([lo, hi]) => {
    if (hi - lo === 1) return { leafAt: lo };
    if (frontierRanges(hi).some(([at]) => at === lo)) return { frontierAt: hi - 1 };
    return { frontierAt: hi - 2, leafAt: hi - 1 };
  });
  const wanted = new Set<number>();
  for (const s of sources) {
    if ('frontierAt' in s) wanted.add(s.frontierAt);
    if (s.leafAt !== undefined) wanted.add(s.leafAt);
  }
  const found = new Map<number, Document>();
  const cursor = db.collection(ADMIN_COLLECTION).find({ seq: { $in: [...wanted] } }, { projection: { _id: 0, seq: 1, leaf: 1, frontier: 1 } });
  for await (const doc of cursor) if (typeof doc['seq'] === 'number') found.set(doc['seq'], doc);
  const leafOf = (seq: number): Hash | undefined => {
    const leaf = found.get(seq)?.['leaf'];
    return leaf instanceof Binary && leaf.length() === 32 ? Buffer.from(leaf.buffer) : undefined;
  };
  const hashes: Hash[] = [];
  for (const [i, source] of sources.entries()) {
    const lo = ranges[i]![0];
    const tail = source.leafAt === undefined ? undefined : leafOf(source.leafAt);
    if (source.leafAt !== undefined && !tail) return undefined;
    let acc = tail;
    if ('frontierAt' in source) {
      const frontier = storedFrontier(found.get(source.frontierAt));
      if (!frontier) return undefined;
      let start = 0;
      let boundary = false;
      const inRange = frontier.nodes().filter((n) => {
        const at = start;
        start += n.size;
        if (at === lo) boundary = true;
        return at >= lo;
      });
      if (!boundary) return undefined;
      for (const node of inRange.reverse()) acc = acc ? nodeHash(node.hash, acc) : node.hash;
    }
    if (!acc) return undefined;
    hashes.push(acc);
  }
  return hashes;
}
