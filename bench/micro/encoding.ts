/**
 * What an evidence block costs the MongoDB-wire server, by how its records are encoded: compact,
 * as the hub stores them (`encodeBlock`: the records' canonical JSON lines, one binary of leaf
 * hashes, the `keys` and `tally` summaries, as lists or, on FerretDB, as text; from 1 KiB on the lines deflated), the same with the
 * lines always as text (before lever 11), and as hubs stored them before (an array of record
 * documents, with base64 leaf hashes). One insert per block, sequential, the hub's write concern;
 * the server's CPU time per record, from /proc (absent with MONGODB_URI). Each case runs on an
 * empty collection.
 */
import type { Db } from 'mongodb';
import { ACCESS_COLLECTION, detectTopology, encodeBlock, evidenceWriteConcern, linesOf, packRecord, recordLeaf, subjectHash, summaryFormOf, type AccessRecord, type SummaryForm } from '../../audit/index.ts';
import { randomBytes } from 'node:crypto';

export const ENCODING_BLOCK_SIZES = [1, 16, 64, 256] as const;

export interface EncodingMicroResult {
  /** `compact` as the hub stores blocks now (lines deflated from 1 KiB on); `compact-text` with the lines always as text (before lever 11). */
  readonly encoding: 'compact' | 'compact-text' | 'documents';
  readonly recordsPerBlock: number;
  readonly blocks: number;
  /** Wall time per insert, ms. */
  readonly msPerInsert: number;
  /** The server's CPU per insert and per record (null: not measurable here). */
  readonly serverCpuMsPerInsert: number | null;
  readonly serverCpuUsPerRecord: number | null;
}

const LOG = 'bench/encoding';

function records(count: number, from: number): AccessRecord[] {
  const key = randomBytes(32);
  return Array.from({ length: count }, (_, i) => ({
    at: new Date(), day: '2026-11-23', requestId: `bench-${from + i}`, action: 'read', system: 'mz-dibao', department: 'MZ',
    principalKind: 'system', operator: 'mz-op-07', purpose: '440000-DIBAO-001', caseId: `DB-2026-${100_000 + from + i}`,
    resource: 'GA-HUKOU', provider: 'GA', subjectType: 'person', subject: subjectHash(key, `44010619900101${String(1000 + ((from + i) % 9000))}`),
    itemsReturned: ['birthDate', 'gender', 'name'], itemsMasked: ['address'], itemsRefused: [], itemsVerified: [],
    grants: [{ id: 'G-2026-0001', version: 3 }], decision: 'allow', code: null, denial: null, reason: null, consent: null, attempt: null,
  }));
}

function blockDoc(encoding: EncodingMicroResult['encoding'], seq: number, recs: AccessRecord[], form: SummaryForm): object {
  if (encoding === 'compact') return encodeBlock(LOG, seq, recs, undefined, undefined, form).doc;
  if (encoding === 'compact-text') {
    const { doc } = encodeBlock(LOG, seq, recs, undefined, undefined, form);
    const { deflated: _, ...rest } = doc;
    return { ...rest, lines: linesOf(doc) };
  }
  const at = new Date();
  const packed = recs.map((r, i) => ({ ...packRecord(r), log: LOG, seq: seq + i }));
  return { at, first: at, last: at, count: recs.length, log: LOG, seq, leaves: packed.map((r) => recordLeaf(r).toString('base64')), records: packed };
}

export async function encodingBench(db: Db, serverCpuMicros: () => Promise<number | null>, log: (line: string) => void, recordsPerCase = 2048): Promise<EncodingMicroResult[]> {
  const writeConcern = evidenceWriteConcern('auto', await detectTopology(db, 10_000));
  // The summaries as the hub writes them on this server (lists on MongoDB, text on FerretDB).
  const form = await summaryFormOf(db);
  const results: EncodingMicroResult[] = [];
  for (const recordsPerBlock of ENCODING_BLOCK_SIZES) {
    for (const encoding of ['documents', 'compact-text', 'compact'] as const) {
      await db.collection(ACCESS_COLLECTION).drop().catch(() => undefined);
      await db.createCollection(ACCESS_COLLECTION);
      const blocks = Math.max(32, Math.round(recordsPerCase / recordsPerBlock));
      const prepared = Array.from({ length: blocks }, (_, b) => blockDoc(encoding, b * recordsPerBlock, records(recordsPerBlock, b * recordsPerBlock), form));
      const cpuBefore = await serverCpuMicros();
      const started = performance.now();
      for (const doc of prepared) await db.collection(ACCESS_COLLECTION).insertOne(doc, { writeConcern });
      const wall = performance.now() - started;
      const cpuAfter = await serverCpuMicros();
      const cpuMs = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / 1000;
      const result: EncodingMicroResult = {
        encoding,
        recordsPerBlock,
        blocks,
        msPerInsert: Math.round((wall / blocks) * 1000) / 1000,
        serverCpuMsPerInsert: cpuMs === null ? null : Math.round((cpuMs / blocks) * 1000) / 1000,
        serverCpuUsPerRecord: cpuMs === null ? null : Math.round((cpuMs * 1000) / (blocks * recordsPerBlock)),
      };
      results.push(result);
      log(`  evidence encoding ${encoding.padEnd(15)} ${String(recordsPerBlock).padStart(3)} records/block: ${result.msPerInsert} ms/insert, server CPU ${result.serverCpuMsPerInsert ?? '–'} ms/insert, ${result.serverCpuUsPerRecord ?? '–'} µs/record`);
    }
  }
  await db.collection(ACCESS_COLLECTION).drop().catch(() => undefined);
  return results;
}
