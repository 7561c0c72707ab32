/**
 * Proofs without reading the whole log. An inclusion or consistency proof (RFC 6962) is O(log n)
 * subtree hashes; computing them from the leaves reads and hashes every leaf of the log, which at
 * a province's volume (10^6–10^8 records a log) is seconds to minutes of I/O, and of CPU on the
 * hub's event loop, for every record an auditor opens.
 *
 * So the hashes of the log's complete subtrees of TILE (256) leaves and more (aligned: nodes of
 * the tree itself, as Go's sumdb/tlog stores them) are kept in `audit_tree`, one small document
 * each, `_id` = `<size>:<first leaf>:<log>`; a node of TILE leaves also holds those leaf hashes (a
 * copy of what its blocks store, 32 bytes a record) and names the blocks that hold its records.
 * They are derived data, a pure function of the stored leaves, filled in order by the proof that
 * first needs them (never on the write path). A mark per log says how far: the nodes are stored up
 * to `size` (a multiple of TILE), with the frontier there to resume from, and the leaves and blocks
 * after it up to `end`, the last record the fill saw.
 *
 * A proof then reads the mark and at most 2 log n + 2 node documents, by `_id`, and no block at
 * all; showing the record reads its one block by `_id`. On MongoDB every one of these is an index
 * lookup. FerretDB 1.24 answers a find by `_id` by walking its table in storage order up to the
 * match (measured: a block 900 blocks into a log of 10^6 records took 2.2 s, the 10th 0.06 s): the
 * tree's small documents keep that cheap, the record's block costs what its position costs. Only
 * a proof against a checkpoint past `end` reads the blocks the log added since (a scan on
 * FerretDB; on MongoDB the `log_seq` index).
 *
 * Trust: none is placed in them. Whoever receives a proof checks it against the signed checkpoint;
 * a node hash altered in the database makes the proofs through it fail there, as an altered stored
 * leaf does, and verification (verify.ts) never reads them. Dropping the collection only costs the
 * next proof the fill again.
 */
import type { Db } from 'mongodb';
import { blocksInSequence } from './blocks.ts';
import { encodeLeaves, leafOf, leavesOf, recordsOf } from './encoding.ts';
import { archivedPrefix, storedNodes } from './log.ts';
import { EMPTY_ROOT, Frontier, nodeHash, PrunedError, rootOf, split, type Hash, type KnownNodes, type Range } from './merkle.ts';
import type { EvidenceBlock } from './record.ts';
import { ACCESS_COLLECTION } from './writer.ts';

export const TREE_COLLECTION = 'audit_tree';
/** Subtrees of this many leaves and more are kept; a power of two (tlog's tiles are 2^8 wide too). */
export const TILE = 256;
/** Node documents per insert while filling. */
const FILL_BATCH = 1024;

/** A block of the log: its `_id`, first sequence number and number of records. */
interface BlockRef {
  readonly id: unknown;
  readonly seq: number;
  readonly count: number;
}

type Bytes = Buffer | { readonly buffer: Uint8Array };

interface NodeDoc {
  readonly _id: string;
  readonly log: string;
  readonly lo: number;
  readonly size: number;
  readonly hash: Bytes;
  /** Nodes of TILE leaves: the leaf hashes, 32 bytes each, in order … */
  leaves?: Bytes;
  /** … and the blocks holding their records, in order. */
  blocks?: BlockRef[];
}

export interface MarkDoc {
  readonly _id: string;
  readonly log: string;
  /** Every complete subtree of TILE leaves or more below this size is stored. A multiple of TILE. */
  readonly size: number;
  /** The tree's frontier at `size`, to resume filling from. */
  readonly nodes: ReadonlyArray<{ readonly hash: string; readonly size: number }>;
  /** The fill saw every record up to here (exclusive), without a gap … */
  readonly end: number;
  /** … and these blocks hold those from `size` to `end`, whose leaf hashes these are. */
  readonly tail: readonly BlockRef[];
  readonly tailLeaves: Bytes;
}

const nodeId = (log: string, lo: number, size: number) => `${size}:${lo}:${log}`;
const markId = (log: string) => `mark:${log}`;
const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;
const bytesOf = (h: Bytes): Buffer => (Buffer.isBuffer(h) ? h : Buffer.from(h instanceof Uint8Array ? h : h.buffer));
/** Leaf hashes stored as one binary (encodeLeaves), back to hashes. */
const hashesOf = (bytes: Bytes): Hash[] => leavesOf({ leaves: bytes }) ?? [];

/** A perfect subtree at its own alignment: a node of the tree, stored once TILE leaves or more. */
const storedNode = ([lo, hi]: Range, filled: number) => hi <= filled && hi - lo >= TILE && isPowerOfTwo(hi - lo) && lo % (hi - lo) === 0;
/** A range inside one group of TILE leaves: hashed from its leaves. */
const withinTile = ([lo, hi]: Range) => Math.floor(lo / TILE) === Math.floor((hi - 1) / TILE);

export class MissingLeafError extends RangeError {
  constructor(log: string, index: number) {
    super(`log ${log}: record ${index} is not in the trail`);
    this.name = 'MissingLeafError';
  }
}

/** The stored leaf hashes of a block (computed from its records when it has none stored). */
async function blockLeaves(db: Db, block: EvidenceBlock & { _id?: unknown }): Promise<Hash[]> {
  const stored = leavesOf(block);
  if (stored !== undefined) return stored;
  const full = await db.collection<EvidenceBlock>(ACCESS_COLLECTION).findOne({ _id: block._id } as object, { projection: { records: 1, lines: 1, deflated: 1 } });
  return full ? recordsOf(full).map(leafOf) : [];
}

/** The state of a log's stored tree after a fill. */
interface Filled {
  /** Nodes are stored up to here (a multiple of TILE, or the archived prefix's size when less). */
  readonly size: number;
  /** Records seen without a gap up to here; the blocks holding those from `size` on, and their leaves. */
  readonly end: number;
  readonly tail: readonly BlockRef[];
  readonly tailLeaves: Bytes;
}

/**
 * Brings the stored nodes of `log` as far as its records go without a gap, from where the last fill
 * stopped (or from the archived prefix), holding O(TILE) leaves at a time. The leaves past the last
 * full group of TILE are kept with the mark (a proof needs them).
 */
async function fill(db: Db, log: string, base: number, prefix: Frontier, mark: MarkDoc | null): Promise<Filled> {
  const tree = db.collection<NodeDoc | MarkDoc>(TREE_COLLECTION);
  const resume = mark !== null && mark.size >= base;
  // A mark below the archived prefix (archived since) is of no use: the fill starts at the prefix.
  if (mark !== null && !resume) await tree.deleteOne({ _id: markId(log) });
  let frontier: Frontier;
  try {
    frontier = resume ? Frontier.restore(mark.nodes.map((n) => ({ hash: Buffer.from(n.hash, 'base64'), size: n.size }))) : Frontier.restore(prefix.nodes());
  } catch {
    throw new StoredTreeDamaged(log);
  }
  if (frontier.size !== (resume ? mark.size : base)) throw new StoredTreeDamaged(log);
  const startedAt = frontier.size;
  let saved: { size: number; nodes: MarkDoc['nodes'] } | undefined;
  let pending: NodeDoc[] = [];
  let group: Hash[] = []; // leaves since the last multiple of TILE
  let refs: BlockRef[] = []; // the blocks holding them
  let tileNode: NodeDoc | undefined;
  const flush = async () => {
    if (pending.length === 0) return;
    const docs = pending;
    pending = [];
    // Another process filling the same log writes the same hashes: a duplicate is that, not a conflict.
    await tree.insertMany(docs, { ordered: false }).catch((error: unknown) => {
      const errors = (error as { writeErrors?: Array<{ code?: number }> | { code?: number } }).writeErrors;
      const list = Array.isArray(errors) ? errors : errors ? [errors] : [];
      if (list.length === 0 || list.some((e) => e.code !== 11000)) throw error;
    });
  };
  // From the first block of the tail the mark names (on MongoDB an index range; FerretDB scans).
  const from = resume && mark.tail.length > 0 ? mark.tail[0]!.seq : frontier.size;
  for await (const block of blocksInSequence(db, log, frontier.size, { leavesOnly: true, from })) {
    const start = block.seq ?? 0;
    const leaves = await blockLeaves(db, block);
    if (start > frontier.size) break; // a gap: nothing after it is filled until it is there
    const ref: BlockRef = { id: block._id, seq: start, count: leaves.length };
    for (let i = frontier.size - start; i < leaves.length; i++) {
      if (refs.at(-1) !== ref) refs.push(ref);
      group.push(leaves[i]!);
      frontier.append(leaves[i]!, (lo, size, hash) => {
        if (size < TILE) return;
        const node: NodeDoc = { _id: nodeId(log, lo, size), log, lo, size, hash };
        if (size === TILE) tileNode = node;
        pending.push(node);
      });
      if (frontier.size % TILE === 0) {
        if (tileNode) {
          tileNode.leaves = encodeLeaves(group.slice(-TILE));
          tileNode.blocks = refs.map((r) => ({ ...r }));
        }
        tileNode = undefined;
        saved = { size: frontier.size, nodes: storedNodes(frontier) };
        group = [];
        refs = [];
      }
    }
    if (pending.length >= FILL_BATCH) await flush();
  }
  // Every node of TILE leaves or more ends on a multiple of TILE, so all of them are at or below the mark.
  await flush();
  const size = saved?.size ?? (resume ? mark.size : base);
  const filled: Filled = { size, end: frontier.size, tail: refs, tailLeaves: encodeLeaves(group) };
  if (frontier.size <= (resume ? mark.end : startedAt)) return filled;
  // Only forward: a mark another process moved further stays.
  await tree.updateOne({ _id: markId(log), end: { $lt: filled.end } }, { $set: { log, size, nodes: saved?.nodes ?? (resume ? mark.nodes : storedNodes(prefix)), end: filled.end, tail: filled.tail, tailLeaves: filled.tailLeaves } }, { upsert: true })
    .catch((error: unknown) => {
      if ((error as { code?: number }).code !== 11000) throw error;
    });
  return filled;
}

/** What a proof needs: the hashes of its subtrees, and the block holding its record. */
export interface ProofSource {
  /** The hashes of the given subtrees, in order; MissingLeafError when a record they cover is not there. */
  hashes(ranges: readonly Range[]): Promise<Hash[]>;
  /** The block holding record `seq`, with its records, or null. */
  blockOf(seq: number): Promise<EvidenceBlock | null>;
}

/**
 * The proof source of `log` for a tree of `size` records: fills the stored tree first if the last
 * fill did not reach `size`.
 */
export async function proofSource(db: Db, log: string, size: number, read?: StoredTree): Promise<ProofSource> {
  const { size: base, frontier: prefix } = await archivedPrefix(db, log);
  const known: KnownNodes = prefix.known();
  const tree = db.collection<NodeDoc | MarkDoc>(TREE_COLLECTION);
  const leaves: Hash[] = [];
  const { mark } = read ?? (await storedTree(db, log));
  const current = mark !== null && mark.size >= base && mark.end >= size && mark.tailLeaves !== undefined;
  const state: Filled = current ? mark : await fill(db, log, base, prefix, mark);
  const tiles = new Map<number, NodeDoc | null>();
  const tileOf = async (lo: number): Promise<NodeDoc | null> => {
    const at = lo - (lo % TILE);
    if (!tiles.has(at)) tiles.set(at, (await tree.findOne({ _id: nodeId(log, at, TILE) })) as NodeDoc | null);
    return tiles.get(at)!;
  };
  /** The blocks holding records of [lo, hi), from the stored groups and the tail. */
  const refsFor = async (lo: number, hi: number): Promise<BlockRef[]> => {
    const out: BlockRef[] = [];
    // Whole groups below `size` from their nodes; the rest (past it, or the group an archived prefix cut) from the tail.
    for (let at = lo - (lo % TILE); at < hi && at + TILE <= state.size; at += TILE) {
      const tile = await tileOf(at);
      if (!tile?.blocks) throw new StoredTreeDamaged(log);
      out.push(...tile.blocks);
    }
    if (hi > state.size) out.push(...state.tail);
    return out.filter((r) => r.seq < hi && r.seq + r.count > lo);
  };
  /** Below a stored node: a range within one group of TILE, or in the tail past the last full group, is hashed from its leaves. */
  const fromLeaves = (r: Range) => r[1] - r[0] === 1 || withinTile(r) || r[0] >= state.size;
  // The leaves past the last full group, kept with the mark.
  hashesOf(state.tailLeaves).forEach((leaf, i, all) => (leaves[state.end - all.length + i] = leaf));
  const hashes = async (ranges: readonly Range[]): Promise<Hash[]> => {
    // What the ranges need: stored nodes, and the leaves of what lies below TILE (its group's node holds them).
    const nodes = new Set<string>();
    const leafRanges: Range[] = [];
    const plan = (r: Range): void => {
      const [lo, hi] = r;
      if (hi - lo === 0 || known.has(`${lo}:${hi}`)) return;
      if (storedNode(r, state.size)) nodes.add(nodeId(log, lo, hi - lo));
      else if (fromLeaves(r)) leafRanges.push(r);
      else {
        const k = split(hi - lo);
        plan([lo, lo + k]);
        plan([lo + k, hi]);
      }
    };
    for (const r of ranges) plan(r);
    const groups = new Set<number>();
    for (const [lo, hi] of leafRanges) {
      for (let at = Math.max(lo, base) - (Math.max(lo, base) % TILE); at < hi && at + TILE <= state.size; at += TILE) groups.add(at);
    }
    const stored = new Map<string, Hash>();
    const [nodeDocs, groupDocs] = await Promise.all([
      Promise.all([...nodes].map((id) => tree.findOne({ _id: id }, { projection: { hash: 1 } }) as Promise<NodeDoc | null>)),
      Promise.all([...groups].map((at) => tileOf(at))),
    ]);
    for (const d of nodeDocs) if (d) stored.set(d._id, bytesOf(d.hash));
    for (const d of groupDocs) {
      if (!d?.leaves) throw new StoredTreeDamaged(log);
      // A group the archived prefix cut holds the leaves from the cut on: the last ones of the group.
      hashesOf(d.leaves).forEach((leaf, i, all) => (leaves[d.lo + TILE - all.length + i] ??= leaf));
    }
    const hashOf = (r: Range): Hash => {
      const [lo, hi] = r;
      if (hi - lo === 0) return EMPTY_ROOT;
      const fromPrefix = known.get(`${lo}:${hi}`);
      if (fromPrefix) return fromPrefix;
      if (storedNode(r, state.size)) {
        const node = stored.get(nodeId(log, lo, hi - lo));
        if (node) return node;
        throw new StoredTreeDamaged(log);
      }
      if (!fromLeaves(r)) {
        const k = split(hi - lo);
        return nodeHash(hashOf([lo, lo + k]), hashOf([lo + k, hi]));
      }
      for (let i = Math.max(lo, base); i < hi; i++) if (!leaves[i]) throw new MissingLeafError(log, i);
      try {
        return rootOf(leaves, lo, hi, known);
      } catch (error) {
        if (error instanceof PrunedError) throw new MissingLeafError(log, lo);
        throw error;
      }
    };
    return ranges.map(hashOf);
  };
  return {
    hashes,
    async blockOf(seq) {
      if (seq < base || seq >= state.end) return null;
      const ref = (await refsFor(seq, seq + 1)).at(0);
      if (!ref) return null;
      const block = await db.collection<EvidenceBlock>(ACCESS_COLLECTION).findOne({ _id: ref.id } as object, { projection: { log: 1, seq: 1, lines: 1, deflated: 1, records: 1 } });
      if (block && block.log !== log) throw new StoredTreeDamaged(log);
      return block;
    },
  };
}

/** A node the mark says is stored is not there (removed by hand): the stored tree of the log is started again. */
class StoredTreeDamaged extends Error {
  constructor(log: string) {
    super(`log ${log}: a stored subtree hash is missing`);
  }
}

/**
 * The hashes of the given subtrees of `log`, each within the records stored so far, in order: from
 * the archived prefix's frontier, the stored nodes, and the leaves of what lies below TILE. Throws
 * MissingLeafError when a record they cover is not there.
 */
export async function subtreeHashes(db: Db, log: string, ranges: readonly Range[]): Promise<Hash[]> {
  const size = Math.max(0, ...ranges.map(([, hi]) => hi));
  return withStoredTree(db, log, size, (source) => source.hashes(ranges));
}

/**
 * Runs `work` on the proof source of `log` (from the stored tree `read`, when the caller has read
 * it already); once more on a fresh stored tree if the stored one lost a node.
 */
export async function withStoredTree<T>(db: Db, log: string, size: number, work: (source: ProofSource) => Promise<T>, read?: StoredTree): Promise<T> {
  try {
    return await work(await proofSource(db, log, size, read));
  } catch (error) {
    if (!(error instanceof StoredTreeDamaged)) throw error;
    await forgetStoredTree(db, log);
    return work(await proofSource(db, log, size));
  }
}

/** The stored tree of a log as its mark says: `end`, how far it reaches (records below it are proved without reading the log). */
export interface StoredTree {
  readonly end: number;
  readonly mark: MarkDoc | null;
}

export async function storedTree(db: Db, log: string): Promise<StoredTree> {
  const mark = (await db.collection<MarkDoc>(TREE_COLLECTION).findOne({ _id: markId(log) })) as MarkDoc | null;
  return { end: mark?.end ?? 0, mark };
}

/**
 * Brings the stored tree of `log` up to its records, as the first proof past the last fill would
 * (a hub does it for its own log on a timer, `audit.treeFillSeconds`, so that proofs find it
 * filled); started again when its mark does not restore. Resolves with how far it reaches.
 */
export async function fillStoredTree(db: Db, log: string): Promise<number> {
  const once = async () => {
    const { size: base, frontier: prefix } = await archivedPrefix(db, log);
    const { mark } = await storedTree(db, log);
    return (await fill(db, log, base, prefix, mark)).end;
  };
  try {
    return await once();
  } catch (error) {
    if (!(error instanceof StoredTreeDamaged)) throw error;
    await forgetStoredTree(db, log);
    return once();
  }
}

/** Drops the stored tree of a log: the next proof fills it again from the records. */
export async function forgetStoredTree(db: Db, log: string): Promise<void> {
  await db.collection<MarkDoc>(TREE_COLLECTION).deleteOne({ _id: markId(log) });
  await db.collection<NodeDoc>(TREE_COLLECTION).deleteMany({ log });
}

/** Drops the stored nodes of a log that lie wholly in its archived prefix (retention): proofs take those from the prefix's frontier. */
export async function forgetArchivedNodes(db: Db, log: string, base: number): Promise<void> {
  const docs = await db.collection<NodeDoc>(TREE_COLLECTION).find({ log, lo: { $gte: 0 } }, { projection: { _id: 1, lo: 1, size: 1 } }).toArray();
  const gone = docs.filter((d) => d.lo + d.size <= base).map((d) => d._id);
  if (gone.length > 0) await db.collection<NodeDoc>(TREE_COLLECTION).deleteMany({ _id: { $in: gone } });
}
