/**
 * Child process of bench/export.ts: runs one export of the trail to a file (`exportTrail`, piped
 * the way `hub audit export --out` does), one offline verification of a JSONL export
 * (`verifyExportFile`, what `hub audit verify --file --key` runs) or one verification in the
 * database (`verifyTrail`, what `hub audit verify --config` and the console's "Verify the trail"
 * run), or one inclusion proof of a record (`proveRecord`, what an auditor opening a record gets),
 * and measures it from inside:
 * wall time, peak RSS (`process.resourceUsage().maxRSS`, the kernel's lifetime high-water mark) and
 * peak `heapUsed`, sampled every 20 ms. The job comes as JSON in argv[2]; the result goes back over
 * IPC. One job per process, so each peak is that job's own.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MongoClient, type Db } from 'mongodb';
import {
  archivedPrefix, CHECKPOINTS_COLLECTION, exportTrail, inclusionProof, leavesOf, listLogs, openNote, parseCheckpointText, parseVerifierKey, proveRecord,
  verifyInclusion, verifyTrail, type CheckpointDoc, type ExportFormat, type Hash, type TrailReport,
} from '../audit/index.ts';
import { blocksInSequence } from '../audit/blocks.ts';
import { verifyExportFile } from '../gateway/commands/audit.ts';

export type ExportJob =
  | { readonly kind: 'export'; readonly format: ExportFormat; readonly uri: string; readonly database: string; readonly file: string }
  | { readonly kind: 'verify'; readonly file: string; readonly key: string }
  | { readonly kind: 'verify-db'; readonly uri: string; readonly database: string; readonly key: string }
  /**
   * The inclusion proof of record `seq` in the latest checkpoint: `tree` as the hub gives it
   * (`proveRecord`: stored subtree hashes, filling what the log added since the last proof), `leaves`
   * the way it did before them (every stored leaf of the log read and hashed up the tree).
   */
  | { readonly kind: 'prove'; readonly from: 'tree' | 'leaves'; readonly uri: string; readonly database: string; readonly key: string; readonly seq: number };

export interface ExportJobResult {
  readonly ok: boolean;
  readonly error?: string;
  /** Access records written (export) or read and hashed (verification). */
  readonly records: number;
  /** Bytes of the export file. */
  readonly bytes: number;
  readonly seconds: number;
  /** Seconds until the first record line left exportTrail (the database's time to first batch). */
  readonly firstRecordSeconds: number | null;
  /** RSS and heapUsed just before the job started (modules loaded, client connected). */
  readonly baselineRssMB: number;
  readonly baselineHeapMB: number;
  readonly peakRssMB: number;
  readonly peakHeapUsedMB: number;
  readonly samples: number;
  /** Verification only: what the verifier concluded. */
  readonly verify?: { readonly ok: boolean; readonly logs: number; readonly checkpoints: number; readonly verifiedSize: number; readonly problems: number };
}

const MB = 1024 * 1024;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

async function run(job: ExportJob): Promise<ExportJobResult> {
  let client: MongoClient | undefined;
  if (job.kind !== 'verify') {
    client = new MongoClient(job.uri, { serverSelectionTimeoutMS: 10_000 });
    await client.connect();
  }
  globalThis.gc?.();
  const baseline = process.memoryUsage();
  let peakHeap = baseline.heapUsed;
  let peakRss = baseline.rss;
  let samples = 0;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
    if (m.rss > peakRss) peakRss = m.rss;
    samples++;
  };
  const sampler = setInterval(sample, 20);
  const started = performance.now();
  let records = 0;
  let firstRecord: number | null = null;
  let verify: ExportJobResult['verify'];
  try {
    if (job.kind === 'export') {
      const recordLine = job.format === 'jsonl' ? (line: string) => line.startsWith('{"type":"record"') : (() => {
        let header = true;
        return () => (header ? (header = false) : true);
      })();
      const lines = exportTrail(client!.db(job.database), job.format);
      const counted = async function* () {
        for await (const line of lines) {
          if (recordLine(line)) {
            records++;
            firstRecord ??= performance.now() - started;
          }
          yield line;
        }
      };
      await pipeline(Readable.from(counted()), createWriteStream(job.file));
    } else if (job.kind === 'prove') {
      ({ records, verify } = await prove(client!.db(job.database), job));
    } else {
      const report: TrailReport = job.kind === 'verify'
        ? await verifyExportFile(job.file, job.key)
        : await verifyTrail(client!.db(job.database), parseVerifierKey(job.key));
      records = report.logs.reduce((n, l) => n + l.records, 0);
      verify = {
        ok: report.ok,
        logs: report.logs.length,
        checkpoints: report.logs.reduce((n, l) => n + l.checkpoints, 0),
        verifiedSize: report.logs.reduce((n, l) => n + l.verifiedSize, 0),
        problems: report.logs.reduce((n, l) => n + l.problems.length, 0),
      };
    }
  } finally {
    clearInterval(sampler);
    sample();
    await client?.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    ok: true,
    records,
    bytes: 'file' in job ? (await stat(job.file)).size : 0,
    seconds: round(seconds, 2),
    firstRecordSeconds: firstRecord === null ? null : round(firstRecord / 1000, 2),
    baselineRssMB: round(baseline.rss / MB),
    baselineHeapMB: round(baseline.heapUsed / MB),
    // maxRSS is in kilobytes; it also covers moments between samples.
    peakRssMB: round(Math.max(peakRss / MB, process.resourceUsage().maxRSS / 1024)),
    peakHeapUsedMB: round(peakHeap / MB),
    samples,
    ...(verify ? { verify } : {}),
  };
}

/** One proof of record `seq` of the database's log, checked against its signed checkpoint. */
async function prove(db: Db, job: Extract<ExportJob, { kind: 'prove' }>): Promise<{ records: number; verify: NonNullable<ExportJobResult['verify']> }> {
  const [log] = await listLogs(db);
  const checkpoint = await db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find({ log }, { projection: { _id: 0 } }).sort({ size: -1 }).limit(1).next();
  if (!log || !checkpoint) throw new Error('no log with a checkpoint to prove a record of');
  const opened = openNote(checkpoint.note, parseVerifierKey(job.key));
  if (!opened.ok) throw new Error(`the checkpoint does not open: ${opened.reason}`);
  const { root, size } = parseCheckpointText(opened.text);
  let leaf: Hash;
  let path: Hash[];
  if (job.from === 'tree') {
    const proof = await proveRecord(db, log, job.seq);
    if (!proof) throw new Error(`no proof of record ${job.seq}`);
    leaf = Buffer.from(proof.leaf, 'base64');
    path = proof.proof.map((h) => Buffer.from(h, 'base64'));
  } else {
    const { size: base, frontier } = await archivedPrefix(db, log);
    const leaves: Hash[] = [];
    for await (const block of blocksInSequence(db, log, base, { leavesOnly: true })) {
      (leavesOf(block) ?? []).forEach((l, i) => (leaves[(block.seq ?? 0) + i] ??= l));
    }
    leaf = leaves[job.seq]!;
    path = inclusionProof(leaves, job.seq, size, frontier.known());
  }
  const ok = verifyInclusion(leaf, job.seq, size, path, root);
  return { records: size, verify: { ok, logs: 1, checkpoints: 1, verifiedSize: ok ? size : 0, problems: ok ? 0 : 1 } };
}

const job = JSON.parse(process.argv[2] ?? '{}') as ExportJob;
let result: ExportJobResult;
try {
  result = await run(job);
} catch (error) {
  result = { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error), records: 0, bytes: 0, seconds: 0, firstRecordSeconds: null, baselineRssMB: 0, baselineHeapMB: 0, peakRssMB: 0, peakHeapUsedMB: 0, samples: 0 };
}
process.send?.(result, () => process.disconnect());
