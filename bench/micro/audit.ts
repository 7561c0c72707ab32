/**
 * Audit writer throughput: `AuditWriter` straight against MongoDB (the hub's indexes, its default
 * write concern and maxInFlight 2), many appends in flight, at maxBatch 1, 16, 128 and 1024.
 * Then variants at maxBatch 1024, to show what would move the figure: maxInFlight 1 and 8, and
 * both secondary indexes forced (the hub creates none on FerretDB). Each case starts from an empty collection
 * and runs for a bounded time and count.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import { ACCESS_COLLECTION, AuditWriter, createAuditIndexes, detectTopology, ensureAuditIndexes, evidenceWriteConcern, subjectHash, type AccessRecord } from '../../audit/index.ts';

export const BATCH_SIZES = [1, 16, 128, 1024] as const;
const MAX_IN_FLIGHT = 2;
const MAX_RECORDS = 5_000_000;

interface AuditCase {
  readonly maxBatch: number;
  readonly maxInFlight: number;
  /** `hub`: ensureAuditIndexes (none on FerretDB, which scans anyway); `both`: time and subject indexes whatever the server. */
  readonly indexes: 'hub' | 'both';
  /** Part of the batch-size sweep at the hub's settings (the goal is read from these). */
  readonly sweep: boolean;
}

const CASES: readonly AuditCase[] = [
  ...BATCH_SIZES.map((maxBatch) => ({ maxBatch, maxInFlight: MAX_IN_FLIGHT, indexes: 'hub' as const, sweep: true })),
  { maxBatch: 1024, maxInFlight: 1, indexes: 'hub', sweep: false },
  { maxBatch: 1024, maxInFlight: 8, indexes: 'hub', sweep: false },
  { maxBatch: 1024, maxInFlight: MAX_IN_FLIGHT, indexes: 'both', sweep: false },
];

export interface AuditMicroResult {
  readonly maxBatch: number;
  readonly maxInFlight: number;
  readonly indexes: AuditCase['indexes'];
  /** Secondary indexes the collection had (the hub creates none on FerretDB). */
  readonly secondaryIndexes?: number;
  readonly sweep: boolean;
  /** Appends kept waiting at once. */
  readonly concurrency: number;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
}

function sampleRecords(count: number): AccessRecord[] {
  const key = randomBytes(32);
  return Array.from({ length: count }, (_, i) => ({
    at: new Date(),
    requestId: `bench-${i}`,
    action: 'read',
    system: 'mz-dibao',
    department: 'MZ',
    principalKind: 'system',
    operator: 'mz-op-07',
    purpose: '440000-DIBAO-001',
    caseId: `DB-2026-${100_000 + i}`,
    resource: 'GA-HUKOU',
    provider: 'GA',
    subjectType: 'person',
    subject: subjectHash(key, `44010619900101${String(1000 + (i % 9000))}`),
    itemsReturned: ['birthDate', 'gender'],
    itemsMasked: ['address', 'name'],
    itemsRefused: [],
    itemsVerified: [],
    grants: [],
    decision: 'allow',
    code: null,
    denial: null,
    reason: null,
    consent: null,
    attempt: null,
  }));
}

export async function auditWriterBench(db: Db, seconds: number, log: (line: string) => void): Promise<AuditMicroResult[]> {
  const records = sampleRecords(1024);
  const results: AuditMicroResult[] = [];
  const writeConcern = evidenceWriteConcern('auto', await detectTopology(db, 10_000));
  for (const { maxBatch, maxInFlight, indexes, sweep } of CASES) {
    await db.collection(ACCESS_COLLECTION).drop().catch(() => undefined);
    await db.createCollection(ACCESS_COLLECTION);
    if (indexes === 'hub') await ensureAuditIndexes(db);
    else await createAuditIndexes(db);
    const secondaryIndexes = (await db.collection(ACCESS_COLLECTION).indexes()).length - 1;
    // Enough waiting appends to fill every batch in flight twice over; more only lengthens the drain.
    const concurrency = Math.min(8192, Math.max(64, maxBatch * maxInFlight * 2));
    // The hub's write concern for this server; a generous deadline: thousands of appends wait by design.
    const writer = new AuditWriter(db, { maxBatch, maxInFlight, writeConcern, deadlineMs: 60_000 });
    const started = performance.now();
    const deadline = started + seconds * 1000;
    let issued = 0;
    const client = async () => {
      while (performance.now() < deadline && issued < MAX_RECORDS) {
        const record = records[issued++ % records.length]!;
        await writer.append(record);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, client));
    await writer.close();
    const elapsed = (performance.now() - started) / 1000;
    const result = {
      maxBatch,
      maxInFlight,
      indexes,
      secondaryIndexes,
      sweep,
      concurrency,
      records: writer.written,
      seconds: Math.round(elapsed * 100) / 100,
      recordsPerSecond: Math.round(writer.written / elapsed),
    };
    results.push(result);
    log(`  audit writer maxBatch ${String(maxBatch).padStart(4)} maxInFlight ${maxInFlight} ${indexes === 'hub' ? 'hub indexes' : 'both indexes forced'} (${secondaryIndexes} secondary): ${String(result.recordsPerSecond).padStart(7)} records/s (${result.records} in ${result.seconds} s, ${concurrency} appends waiting)`);
  }
  await db.collection(ACCESS_COLLECTION).drop().catch(() => undefined);
  return results;
}
