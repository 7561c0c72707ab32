/**
 * Child process of bench/export.ts: runs one export of the trail to a file (`exportTrail`, piped
 * the way `hub audit export --out` does), one offline verification of a JSONL export
 * (`verifyExportFile`, what `hub audit verify --file --key` runs) or one verification in the
 * database (`verifyTrail`, what `hub audit verify --config` and the console's "Verify the trail"
 * run), and measures it from inside:
 * wall time, peak RSS (`process.resourceUsage().maxRSS`, the kernel's lifetime high-water mark) and
 * peak `heapUsed`, sampled every 20 ms. The job comes as JSON in argv[2]; the result goes back over
 * IPC. One job per process, so each peak is that job's own.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MongoClient } from 'mongodb';
import { exportTrail, parseVerifierKey, verifyTrail, type ExportFormat, type TrailReport } from '../audit/index.ts';
import { verifyExportFile } from '../gateway/commands/audit.ts';

export type ExportJob =
  | { readonly kind: 'export'; readonly format: ExportFormat; readonly uri: string; readonly database: string; readonly file: string }
  | { readonly kind: 'verify'; readonly file: string; readonly key: string }
  | { readonly kind: 'verify-db'; readonly uri: string; readonly database: string; readonly key: string };

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
  if (job.kind === 'export' || job.kind === 'verify-db') {
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
    bytes: job.kind === 'verify-db' ? 0 : (await stat(job.file)).size,
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

const job = JSON.parse(process.argv[2] ?? '{}') as ExportJob;
let result: ExportJobResult;
try {
  result = await run(job);
} catch (error) {
  result = { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error), records: 0, bytes: 0, seconds: 0, firstRecordSeconds: null, baselineRssMB: 0, baselineHeapMB: 0, peakRssMB: 0, peakHeapUsedMB: 0, samples: 0 };
}
process.send?.(result, () => process.disconnect());
