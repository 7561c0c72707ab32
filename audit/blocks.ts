/**
 * Reading a log's evidence blocks in sequence order, in constant memory (export, verification,
 * retention).
 */
import type { Db } from 'mongodb';
import { sizeOf } from './encoding.ts';
import type { EvidenceBlock } from './record.ts';
import { ACCESS_COLLECTION } from './writer.ts';

const REORDER_RECORDS = 16_384;
type Block = EvidenceBlock & { readonly _id: unknown };

/**
 * The blocks of a log in sequence order, in constant memory. Not `find().sort({ seq: 1 })`:
 * FerretDB 1.24 cannot push that sort down to SQLite, so it decodes every block of the log into
 * its own memory (~10 KB per record: 1.1 GB at 10^5 records) and sorts them before sending the
 * first one; MongoDB without a { log, seq } index sorts too (spilling to disk). Blocks are read
 * in natural (insertion) order instead, which is sequence order (the writer sends them in order,
 * one write at a time; trails written with concurrent writes before that have neighbours swapped,
 * and MongoDB does not promise natural order), and put back in order in a small buffer. When the
 * expected block has not come within REORDER_RECORDS records, the missing range is fetched by a
 * query of its own (one more scan; the server holds only that range's blocks); a block that is
 * not there at all is left out, as in the database, and verification reports the gap.
 */
export async function* blocksInSequence(
  db: Db, log: string, start: number, options: { readonly withLeaves?: boolean; readonly leavesOnly?: boolean; readonly from?: number } = {},
): AsyncGenerator<Block> {
  const collection = db.collection<EvidenceBlock>(ACCESS_COLLECTION);
  // The stored leaf hashes only when asked for (verification compares them with the records);
  // proofs ask for them alone.
  const projection = options.leavesOnly ? { records: 0, lines: 0, deflated: 0, keys: 0, tally: 0 } : options.withLeaves ? { keys: 0, tally: 0 } : { leaves: 0, keys: 0, tally: 0 };
  const first = (b: Block) => b.seq ?? 0;
  const waiting: Block[] = []; // by sequence number
  const fetchedEarly = new Set<string>();
  let buffered = 0;
  let next = start;
  const take = (b: Block): Block => {
    next = Math.max(next, first(b) + sizeOf(b));
    return b;
  };
  // `from`: only blocks starting there or later (the one holding `start`, when the caller knows it),
  // so a reader resuming far into a log does not read what it has (on MongoDB, by the log_seq index).
  const scan = collection.find(options.from === undefined ? { log } : { log, seq: { $gte: options.from } }, { projection }).batchSize(4);
  try {
    for (let done = false; ;) {
      // What continues the sequence goes out; so does a block behind it (a duplicate), as stored.
      while (waiting.length > 0 && first(waiting[0]!) <= next) {
        const b = waiting.shift()!;
        buffered -= sizeOf(b);
        yield take(b);
      }
      if (waiting.length > 0 && (done || buffered > REORDER_RECORDS)) {
        if (!done) {
          const missing = collection.find({ log, seq: { $gte: next, $lt: first(waiting[0]!) } }, { projection }).sort({ seq: 1 });
          let found = false;
          for await (const b of missing) {
            found = true;
            fetchedEarly.add(String(b._id));
            yield take(b);
          }
          if (found) continue;
        }
        const b = waiting.shift()!; // the sequence has a gap here
        buffered -= sizeOf(b);
        yield take(b);
        continue;
      }
      if (done) return;
      const b = await scan.next();
      if (b === null) {
        done = true;
        continue;
      }
      if (fetchedEarly.delete(String(b._id))) continue;
      let i = waiting.length;
      while (i > 0 && first(waiting[i - 1]!) > first(b)) i--;
      waiting.splice(i, 0, b);
      buffered += sizeOf(b);
    }
  } finally {
    await scan.close();
  }
}
