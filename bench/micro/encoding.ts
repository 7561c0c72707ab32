/**
 * What an evidence block costs the MongoDB-wire server, by how its records are encoded: as today
 * (an array of record documents, with their leaf hashes) and, as a what-if, as one string holding
 * the records' canonical JSON lines (the bytes the leaves are computed from), with the same block
 * fields around it. One insert per block, sequential, the hub's write concern; the server's CPU
 * time per record, from /proc (absent with MONGODB_URI). Each case runs on an empty collection.
 *
 * This measures the server's side only. The second encoding is not what the hub stores: search,
 * statistics, anomaly flags and the data subject's access log read record fields in the database.
 */
import type { Db } from 'mongodb';
import { ACCESS_COLLECTION, canonicalBytes, detectTopology, evidenceWriteConcern, packRecord, recordLeaf, subjectHash } from '../../audit/index.ts';
import { randomBytes } from 'node:crypto';

export const ENCODING_BLOCK_SIZES = [1, 16, 64, 256] as const;

export interface EncodingMicroResult {
  readonly encoding: 'documents' | 'canonical-lines';
  readonly recordsPerBlock: number;
  readonly blocks: number;
  /** Wall time per insert, ms. */
  readonly msPerInsert: number;
  /** The server's CPU per insert and per record (null: not measurable here). */
  readonly serverCpuMsPerInsert: number | null;
  readonly serverCpuUsPerRecord: number | null;
}

function records(count: number, from: number): Array<Record<string, unknown>> {
  const key = randomBytes(32);
  return Array.from({ length: count }, (_, i) => ({
    ...packRecord({
      at: new Date(), day: '2026-11-23', requestId: `bench-${from + i}`, action: 'read', system: 'mz-dibao', department: 'MZ',
      principalKind: 'system', operator: 'mz-op-07', purpose: '440000-DIBAO-001', caseId: `DB-2026-${100_000 + from + i}`,
      resource: 'GA-HUKOU', provider: 'GA', subjectType: 'person', subject: subjectHash(key, `44010619900101${String(1000 + ((from + i) % 9000))}`),
      itemsReturned: ['birthDate', 'gender', 'name'], itemsMasked: ['address'], itemsRefused: [], itemsVerified: [],
      grants: [{ id: 'G-2026-0001', version: 3 }], decision: 'allow', code: null, denial: null, reason: null, consent: null, attempt: null,
    }),
    log: 'bench/encoding',
    seq: from + i,
  }));
}

function blockDoc(encoding: EncodingMicroResult['encoding'], recs: Array<Record<string, unknown>>): Record<string, unknown> {
  const at = new Date();
  const base = { at, first: at, last: at, count: recs.length, log: 'bench/encoding', seq: recs[0]!['seq'] };
  if (encoding === 'documents') return { ...base, leaves: recs.map((r) => recordLeaf(r).toString('base64')), records: recs };
  return { ...base, lines: recs.map((r) => canonicalBytes(r).toString('utf8')).join('\n') };
}

export async function encodingBench(db: Db, serverCpuMicros: () => Promise<number | null>, log: (line: string) => void, recordsPerCase = 2048): Promise<EncodingMicroResult[]> {
  const writeConcern = evidenceWriteConcern('auto', await detectTopology(db, 10_000));
  const results: EncodingMicroResult[] = [];
  for (const recordsPerBlock of ENCODING_BLOCK_SIZES) {
    for (const encoding of ['documents', 'canonical-lines'] as const) {
      await db.collection(ACCESS_COLLECTION).drop().catch(() => undefined);
      await db.createCollection(ACCESS_COLLECTION);
      const blocks = Math.max(32, Math.round(recordsPerCase / recordsPerBlock));
      const prepared = Array.from({ length: blocks }, (_, b) => blockDoc(encoding, records(recordsPerBlock, b * recordsPerBlock)));
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
