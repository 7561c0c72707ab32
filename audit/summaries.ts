/**
 * A trail moved between servers (audit/encoding.ts, SummaryForm): blocks keep their summaries as
 * lists on MongoDB (its multikey index and pipelines read them) and as text on FerretDB. A trail
 * written on FerretDB and restored into MongoDB (mongodump / mongorestore) holds text summaries
 * that MongoDB's searches and statistics do not see: an auditor's search would miss those blocks.
 * `convertSummaries` writes every block's summaries in the form of the server it runs against (or
 * the one asked for), from the block's own records, exactly as the hub's writer would have written
 * them: a value holding a line break survives, which splitting the text would not give. Only the
 * summaries change: the records, their leaf hashes and the checkpoints are untouched, so the trail
 * verifies as before. Idempotent and resumable: a block already in the form is left alone.
 */
import type { AnyBulkWriteOperation, Db, Document } from 'mongodb';
import { isReadable, recordsOf, Summaries, type SummaryForm } from './encoding.ts';
import { unpackRecord, type EvidenceBlock } from './record.ts';
import { summaryFormOf } from './store.ts';
import { ACCESS_COLLECTION } from './writer.ts';

export interface SummaryConversion {
  /** The form written. */
  readonly form: SummaryForm;
  /** Blocks read. */
  readonly blocks: number;
  /** Blocks whose summaries were (or, with dryRun, would be) rewritten. */
  readonly converted: number;
}

/** Updates per bulk write (each followed by `onProgress`). */
const BATCH = 500;

const formOf = (block: Pick<EvidenceBlock, 'keys' | 'tally'>): SummaryForm | undefined => {
  if (block.keys === undefined && block.tally === undefined) return undefined;
  return typeof block.keys === 'string' || typeof block.tally === 'string' ? 'text' : 'fields';
};

/**
 * Rewrites the summaries of every compact block not in `form` (default: the server's own) from
 * its records. Blocks of record documents (written before the compact encoding) have none and are
 * left alone, as are aborted blocks (no records).
 */
export async function convertSummaries(
  db: Db, options: { form?: SummaryForm; dryRun?: boolean; batch?: number; onProgress?: (soFar: SummaryConversion) => void } = {},
): Promise<SummaryConversion> {
  const form = options.form ?? (await summaryFormOf(db));
  const collection = db.collection<EvidenceBlock>(ACCESS_COLLECTION);
  let blocks = 0;
  let converted = 0;
  let pending: Array<AnyBulkWriteOperation<EvidenceBlock>> = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const ops = pending;
    pending = [];
    if (!options.dryRun) await collection.bulkWrite(ops, { ordered: false, writeConcern: { w: 'majority', journal: true } });
    options.onProgress?.({ form, blocks, converted });
  };
  // Every block with its records (a block holds one group commit's records: a few KiB).
  const cursor = collection.find({ log: { $exists: true } }, { projection: { keys: 1, tally: 1, lines: 1, deflated: 1, records: 1, aborted: 1 } });
  for await (const block of cursor) {
    blocks++;
    const current = formOf(block);
    if (current === undefined || current === form || block.aborted === true) continue;
    const summaries = new Summaries();
    for (const record of recordsOf(block)) if (isReadable(record)) summaries.add(unpackRecord(record));
    converted++;
    pending.push({ updateOne: { filter: { _id: (block as Document)['_id'] }, update: { $set: summaries.stored(form) } } });
    if (pending.length >= (options.batch ?? BATCH)) await flush();
  }
  await flush();
  return { form, blocks, converted };
}
