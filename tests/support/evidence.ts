/**
 * Tampering with stored evidence, as someone with write access to the database would: a block's
 * records and leaf hashes are changed in place, in the encoding the block was stored in.
 */
import { deflateRawSync } from 'node:zlib';
import { Binary, type Db, type Document } from 'mongodb';
import { ACCESS_COLLECTION, encodeLeaves, encodeLines, isReadable, leavesOf, recordsOf, type EvidenceBlock, type Hash } from '../../audit/index.ts';
import { leafOf } from '../../audit/encoding.ts';

/** Rewrites the block of `log` holding `seq` with `change` applied to copies of its records and base64 leaves. */
export async function tamperBlock(db: Db, log: string, seq: number, change: (records: Document[], leaves: string[]) => void): Promise<void> {
  const blocks = db.collection<EvidenceBlock>(ACCESS_COLLECTION);
  const block = (await blocks.find({ log }).sort({ seq: 1 }).toArray()).filter((b) => (b.seq ?? 0) <= seq).at(-1)!;
  const records = recordsOf(block).map((r) => ({ ...r }) as Document);
  const leaves = (leavesOf(block) ?? []).map((l) => l.toString('base64'));
  change(records, leaves);
  const newLeaves = encodeLeaves(leaves.map((l) => Buffer.from(l, 'base64')));
  const update = typeof block.lines === 'string'
    ? { lines: encodeLines(records), leaves: newLeaves }
    : block.deflated !== undefined
      ? { deflated: new Binary(deflateRawSync(encodeLines(records))), leaves: newLeaves }
      : { records, leaves };
  await blocks.updateOne({ _id: block._id }, { $set: update as Partial<EvidenceBlock> });
}

/** Every leaf of a log, recomputed from its records, by sequence number (small test logs: all in memory). */
export async function allLeaves(db: Db, log: string): Promise<Hash[]> {
  const leaves: Hash[] = [];
  for (const block of await db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({ log }).sort({ seq: 1 }).toArray()) {
    recordsOf(block).forEach((record, i) => {
      leaves[isReadable(record) && typeof record.seq === 'number' ? record.seq : (block.seq ?? 0) + i] = leafOf(record);
    });
  }
  return leaves;
}
