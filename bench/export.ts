/**
 * `npm run bench:export`: does an export of the trail run in constant memory? (issue #7: "a
 * million records export in constant memory").
 *
 * Fills a throwaway database with access records written the real way — `AuditWriter` over a
 * signed `EvidenceLog` (Ed25519 checkpoints every 10 000 records, as the hub does), large blocks —
 * growing it to 10 000, 100 000 and 1 000 000 records (BENCH_QUICK=1: 10 000 and 100 000). At each
 * size it runs, each in its own child process, `exportTrail` to a JSONL file, to a CSV file, and the
 * offline verification of the JSONL file (`verifyExportFile`, i.e. `hub audit verify --file
 * --key`), and reports records, bytes, seconds, records/s, peak RSS and peak heapUsed of the child,
 * and the peak RSS of the MongoDB-wire server during the job (its VmHWM, reset before each job, when
 * the server was started here). Constant memory means the children's peaks do not grow with N.
 * At each size it also times the inclusion proof of one record (an auditor opening it), each in its
 * own child and checked against the signed checkpoint: from every stored leaf, as proofs were made
 * before the stored subtree hashes (audit/tree.ts); as the hub makes them, first filling the
 * stored tree with what the size added; and again once it is stored.
 *
 *   BENCH_QUICK=1                  10k and 100k only
 *   BENCH_EXPORT_SIZES=10000,…     the sizes (ascending)
 *   BENCH_EXPORT_BATCH=1024        the writer's maxBatch (records per evidence block)
 *   BENCH_EXPORT_OUT=path          where to write the JSON (default bench/results/export.json)
 *   BENCH_EXPORT_KEEP=1            keep the export files (printed), else removed after each size
 *   BENCH_EXPORT_CAPPED=0          skip the second run of every job with a capped heap
 *                                  (--max-old-space-size=64 --max-semi-space-size=1): same V8 sizing
 *                                  at every N, so its peaks compare directly, and anything O(N) would
 *                                  die of it. Exports up to BENCH_EXPORT_CAPPED_MAX (100000)
 *                                  records, the verifications (of the file, in the database) at
 *                                  every size
 *
 * Everything listens on 127.0.0.1; the database is dropped, a started server stopped, temporary
 * directories removed at the end, also after a failure or Ctrl-C.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient, type Db } from 'mongodb';
import {
  ACCESS_COLLECTION, AuditWriter, CHECKPOINTS_COLLECTION, EvidenceLog, ensureAuditIndexes, newOrigin, noteSigner, subjectHash,
  type AccessRecord, type ExportFormat,
} from '../audit/index.ts';
import { provisionMongo, type MongoProvision } from '../gateway/mongo/provision.ts';
import { ROOT } from './config.ts';
import { processCpuMicros } from './cpu.ts';
import type { ExportJob, ExportJobResult } from './export-child.ts';
import { describeMachine } from './report/machine.ts';
import { readRevision } from './report/revision.ts';

const CAPPED_LABEL = '(64 MB heap)';
const CHILD = fileURLToPath(new URL('./export-child.ts', import.meta.url));
const JOB_TIMEOUT_MS = 30 * 60_000;
const log = (line: string) => console.log(line);

// ---------------------------------------------------------------------------------------------
// Settings

function flag(name: string): boolean {
  const raw = process.env[name]?.trim().toLowerCase();
  return raw !== undefined && raw !== '' && !['0', 'false', 'no', 'off'].includes(raw);
}

function sizesFromEnv(quick: boolean): number[] {
  const raw = process.env['BENCH_EXPORT_SIZES']?.trim();
  if (!raw) return quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  const sizes = raw.split(',').map((s) => Number(s.trim().replaceAll('_', '')));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 100_000_000) || sizes.some((n, i) => i > 0 && n <= sizes[i - 1]!)) {
    throw new Error(`BENCH_EXPORT_SIZES must be ascending whole numbers from 1 to 10^8, got "${raw}"`);
  }
  return sizes;
}

const quick = flag('BENCH_QUICK');
const sizes = sizesFromEnv(quick);
const maxBatch = Number(process.env['BENCH_EXPORT_BATCH'] ?? 1024);
if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 16_384) throw new Error('BENCH_EXPORT_BATCH must be a whole number from 1 to 16384');
const keepFiles = flag('BENCH_EXPORT_KEEP');
const capped = process.env['BENCH_EXPORT_CAPPED']?.trim() ? flag('BENCH_EXPORT_CAPPED') : true;
const cappedMax = Number(process.env['BENCH_EXPORT_CAPPED_MAX'] ?? 100_000);
/** A heap too small for anything that grows with N: a run that holds O(N) dies of it. */
const CAPPED_FLAGS = ['--max-old-space-size=64', '--max-semi-space-size=1'];
const out = process.env['BENCH_EXPORT_OUT']?.trim() || fileURLToPath(new URL('./results/export.json', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Realistic access records (deterministic: a seeded generator)

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Items of each demo resource: what a read returns (some masked), or what a verification compares. */
const RESOURCES: Record<string, { readonly provider: string; readonly subjectType: 'person' | 'enterprise'; readonly items: readonly string[]; readonly masked: readonly string[] }> = {
  'GA-HUKOU': { provider: 'GA', subjectType: 'person', items: ['name', 'gender', 'birthDate', 'ethnicity', 'householdId', 'relationToHead'], masked: ['address', 'idNumber'] },
  'GA-VEHICLE': { provider: 'GA', subjectType: 'person', items: ['plateNumber', 'vehicleType', 'registeredAt', 'status'], masked: ['vin'] },
  'GA-CRIMINAL': { provider: 'GA', subjectType: 'person', items: ['hasRecord'], masked: [] },
  'GA-FACE': { provider: 'GA', subjectType: 'person', items: ['matched', 'score'], masked: [] },
  'MZ-MARRIAGE': { provider: 'MZ', subjectType: 'person', items: ['maritalStatus', 'registeredAt', 'registryOffice'], masked: ['spouseName', 'spouseIdNumber'] },
  'RS-SOCIAL-INSURANCE': { provider: 'RS', subjectType: 'person', items: ['insured', 'insuranceType', 'since', 'monthlyBase'], masked: ['employer'] },
  'YB-MEDICAL-INSURANCE': { provider: 'YB', subjectType: 'person', items: ['insured', 'scheme', 'since'], masked: ['hospital'] },
  'ZR-REAL-ESTATE': { provider: 'ZR', subjectType: 'person', items: ['propertyCount', 'totalArea'], masked: ['addresses', 'certificateNumbers'] },
  'WJ-BIRTH-CERT': { provider: 'WJ', subjectType: 'person', items: ['certificateNumber', 'birthDate', 'hospital', 'motherName'], masked: ['motherIdNumber', 'fatherIdNumber'] },
  'SJ-LICENCE': { provider: 'SJ', subjectType: 'enterprise', items: ['name', 'legalRepresentative', 'registeredCapital', 'status', 'establishedAt'], masked: ['address'] },
};

interface SystemSpec {
  readonly system: string;
  readonly department: string;
  /** Share of the requests (relative). */
  readonly weight: number;
  readonly purposes: ReadonlyArray<{ readonly code: string; readonly resources: readonly string[] }>;
}

/** Systems of the demo catalogue, the purposes they state and the resources read under each. */
const SYSTEMS: readonly SystemSpec[] = [
  { system: 'mz-dibao', department: 'MZ', weight: 4, purposes: [{ code: '440000-DIBAO-001', resources: ['GA-HUKOU', 'RS-SOCIAL-INSURANCE', 'YB-MEDICAL-INSURANCE', 'ZR-REAL-ESTATE', 'GA-VEHICLE', 'MZ-MARRIAGE', 'GA-CRIMINAL'] }] },
  { system: 'zw-yichuang', department: 'ZW', weight: 4, purposes: [
    { code: '440000-CSYJS-001', resources: ['WJ-BIRTH-CERT', 'GA-HUKOU', 'RS-SOCIAL-INSURANCE', 'YB-MEDICAL-INSURANCE', 'GA-FACE'] },
    { code: '440000-MZB-001', resources: ['GA-HUKOU', 'SJ-LICENCE'] },
    { code: '440000-QYKB-001', resources: ['SJ-LICENCE'] },
  ] },
  { system: 'sj-kaiban', department: 'SJ', weight: 2, purposes: [{ code: '440000-QYKB-001', resources: ['SJ-LICENCE'] }, { code: '440000-MZB-001', resources: ['GA-HUKOU', 'SJ-LICENCE'] }] },
  { system: 'ga-huji', department: 'GA', weight: 1, purposes: [{ code: '440000-GAJC-001', resources: ['GA-HUKOU', 'YB-MEDICAL-INSURANCE'] }] },
];
const SYSTEM_WHEEL = SYSTEMS.flatMap((s) => Array.from({ length: s.weight }, () => s));
const DENIALS = [
  { code: 'FORBIDDEN', denial: 'NO_GRANT', reason: 'no grant covers this resource for the stated purpose' },
  { code: 'FORBIDDEN', denial: 'GRANT_SUSPENDED', reason: 'the grant is suspended pending review' },
  { code: 'FORBIDDEN', denial: 'CONSENT_MISSING', reason: 'consent-bound items need the subject\'s consent' },
  { code: 'QUOTA_EXCEEDED', denial: 'QUOTA_EXCEEDED', reason: 'daily quota of the grant is used up' },
] as const;
const SUBJECTS = 250_000;

/** Access records as the hub writes them: a request reads a few resources of one subject. */
class RecordSource {
  readonly #random = mulberry32(7);
  readonly #key = createSecretKey(randomBytes(32));
  readonly #t0 = Date.now() - 30 * 86_400_000;
  #i = 0;
  #request: { id: string; left: number; system: SystemSpec; purpose: SystemSpec['purposes'][number]; subject: number; operator: string; caseId: string } | undefined;

  #pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.#random() * list.length)]!;
  }

  next(): AccessRecord {
    const i = this.#i++;
    const at = new Date(this.#t0 + i * 2_000 + Math.floor(this.#random() * 2_000));
    const day = new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 10); // Asia/Shanghai
    if (!this.#request || this.#request.left === 0) {
      const system = this.#pick(SYSTEM_WHEEL);
      const purpose = this.#pick(system.purposes);
      this.#request = {
        id: randomUUID(), left: 1 + Math.floor(this.#random() * Math.min(4, purpose.resources.length)), system, purpose,
        subject: Math.floor(this.#random() * SUBJECTS),
        operator: `${system.department.toLowerCase()}-op-${String(1 + Math.floor(this.#random() * 60)).padStart(3, '0')}`,
        caseId: `${purpose.code.slice(7, 11)}-2026-${String(100_000 + Math.floor(this.#random() * 900_000))}`,
      };
    }
    const r = this.#request;
    r.left--;
    const base = { at, day, requestId: r.id, system: r.system.system, department: r.system.department, principalKind: 'system', operator: r.operator, caseId: r.caseId };
    const roll = this.#random();
    if (roll < 0.01) {
      // A refused purpose statement: no resource, no subject.
      return {
        ...base, action: 'access', purpose: null, caseId: null, resource: null, provider: null, subjectType: null, subject: null,
        itemsReturned: [], itemsMasked: [], itemsRefused: [], itemsVerified: [], grants: [], decision: 'deny',
        code: 'PURPOSE_INVALID', denial: null, reason: 'unknown purpose code', consent: null, attempt: null,
      };
    }
    const resource = this.#pick(r.purpose.resources);
    const spec = RESOURCES[resource]!;
    const subjectKey = spec.subjectType === 'person' ? `44010${String(6_1980_0101_000 + r.subject)}` : `91440000MA${String(r.subject).padStart(8, '0')}`;
    const common = {
      ...base, purpose: r.purpose.code, resource, provider: spec.provider, subjectType: spec.subjectType,
      subject: subjectHash(this.#key, subjectKey), grants: [{ id: `g-${r.system.department}-${resource}`.toLowerCase(), version: 1 + (r.subject % 3) }],
    };
    if (roll < 0.05) {
      const d = this.#pick(DENIALS);
      return { ...common, action: 'read', itemsReturned: [], itemsMasked: [], itemsRefused: [...spec.items], itemsVerified: [], decision: 'deny', ...d, consent: null, attempt: null };
    }
    if (roll < 0.10) {
      return {
        ...common, action: 'verify', itemsReturned: [], itemsMasked: [], itemsRefused: [], itemsVerified: spec.items.slice(0, 2), decision: 'allow',
        code: null, denial: null, reason: null, consent: null, attempt: 1 + Math.floor(this.#random() * 3),
      };
    }
    const partial = roll < 0.18;
    const consent = resource === 'WJ-BIRTH-CERT' || resource === 'ZR-REAL-ESTATE' ? `consent-${(r.subject * 7919).toString(36)}` : null;
    return {
      ...common, action: 'read', itemsReturned: partial ? spec.items.slice(0, -1) : [...spec.items], itemsMasked: [...spec.masked],
      itemsRefused: partial ? spec.items.slice(-1) : [], itemsVerified: [], decision: partial ? 'partial' : 'allow',
      code: partial ? 'FORBIDDEN' : null, denial: partial ? 'NO_GRANT' : null, reason: null, consent, attempt: null,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Filling the trail through the hub's writer

interface FillFigures {
  readonly size: number;
  readonly added: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly blocks: number;
  readonly checkpoints: number;
  readonly failedAppends: number;
  /** CPU seconds of the MongoDB-wire server during the fill (null when not started here). */
  readonly serverCpuSeconds: number | null;
  /** Size of the server's data directory (null with MONGODB_URI). */
  readonly dataDirMB: number | null;
}

async function fill(writer: AuditWriter, source: RecordSource, count: number): Promise<number> {
  // Whole blocks appended per tick; a few waiting so both writes in flight always have a next one.
  const pending = new Set<Promise<void>>();
  let failed = 0;
  for (let left = count; left > 0;) {
    const n = Math.min(maxBatch, left);
    left -= n;
    const chunk = Array.from({ length: n }, () => source.next());
    const p: Promise<void> = writer.appendMany(chunk).catch(() => { failed++; }).finally(() => pending.delete(p));
    pending.add(p);
    if (pending.size >= 4) await Promise.race(pending);
  }
  await Promise.all(pending);
  return failed;
}

/**
 * Signs a checkpoint of the whole log: `checkpoint()` joins one still being signed, which may
 * cover less, so ask again until the latest covers every durable record.
 */
async function checkpointAll(evidence: EvidenceLog): Promise<void> {
  for (let attempt = 0; evidence.latest?.size !== evidence.size; attempt++) {
    if (attempt === 5) throw new Error(`no checkpoint of the whole log (${evidence.size} records; latest ${evidence.latest?.size ?? 'none'})`);
    await evidence.checkpoint();
  }
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

async function collectionCount(db: Db, name: string): Promise<number> {
  const stats = await db.collection(name).aggregate<{ count?: number }>([{ $collStats: { count: {} } }]).toArray();
  return stats.reduce((sum, s) => sum + (s.count ?? 0), 0);
}

// ---------------------------------------------------------------------------------------------
// The MongoDB-wire server's memory (Linux /proc; only when this bench started it)

async function procStatusKB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const m = status === undefined ? null : new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : null;
}

/** Resets the process's peak RSS (VmHWM) to its current RSS; false when the kernel does not allow it. */
async function resetPeak(pid: number): Promise<boolean> {
  return writeFile(`/proc/${pid}/clear_refs`, '5').then(() => true, () => false);
}

// ---------------------------------------------------------------------------------------------
// Jobs in child processes

interface JobFigures extends ExportJobResult {
  readonly task: string;
  /** Run with CAPPED_FLAGS. */
  readonly capped: boolean;
  readonly size: number;
  readonly recordsPerSecond: number;
  /** RSS of the MongoDB-wire server when the job started (Go returns freed memory lazily). */
  readonly serverRssBeforeMB: number | null;
  readonly serverPeakRssMB: number | null;
  readonly serverCpuSeconds: number | null;
}

const running = new Set<ChildProcess>();

function runChild(job: ExportJob, flags: readonly string[]): Promise<ExportJobResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [JSON.stringify(job)], { execArgv: ['--expose-gc', ...flags], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    running.add(child);
    let result: ExportJobResult | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), JOB_TIMEOUT_MS);
    child.on('message', (m) => { result = m as ExportJobResult; });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (result) resolve(result);
      else reject(new Error(`the ${job.kind} child exited (${signal ?? code}) without a result`));
    });
  });
}

async function measureJob(task: string, size: number, job: ExportJob, flags: readonly string[], serverPid: number | undefined): Promise<JobFigures> {
  const canReset = serverPid !== undefined && (await resetPeak(serverPid));
  const rssBefore = serverPid === undefined ? null : await procStatusKB(serverPid, 'VmRSS');
  let sampledPeakKB = 0;
  const sampler = serverPid === undefined ? undefined : setInterval(() => {
    void procStatusKB(serverPid, 'VmRSS').then((kb) => { if (kb !== null && kb > sampledPeakKB) sampledPeakKB = kb; });
  }, 100);
  const cpuBefore = serverPid === undefined ? null : await processCpuMicros(serverPid);
  let result: ExportJobResult;
  try {
    result = await runChild(job, flags).catch((error: unknown) => {
      // With the heap capped, dying (out of memory) is a finding, not a failure of the bench.
      if (flags.length === 0) throw error;
      return { ok: false, error: String(error), records: 0, bytes: 0, seconds: 0, firstRecordSeconds: null, baselineRssMB: 0, baselineHeapMB: 0, peakRssMB: 0, peakHeapUsedMB: 0, samples: 0 };
    });
  } finally {
    if (sampler) clearInterval(sampler);
  }
  const cpuAfter = serverPid === undefined ? null : await processCpuMicros(serverPid);
  const hwm = serverPid !== undefined && canReset ? await procStatusKB(serverPid, 'VmHWM') : null;
  const serverPeakKB = Math.max(hwm ?? 0, sampledPeakKB);
  if (!result.ok && flags.length === 0) throw new Error(`${task} at ${size} records failed in its child:\n${result.error}`);
  if (!result.ok) log(`   ${task} at ${size} records DIED with ${flags.join(' ')}: ${result.error}`);
  return {
    ...result,
    task,
    capped: flags.length > 0,
    size,
    recordsPerSecond: Math.round(result.records / Math.max(result.seconds, 1e-3)),
    serverRssBeforeMB: rssBefore === null ? null : Math.round(rssBefore / 102.4) / 10,
    serverPeakRssMB: serverPid === undefined || serverPeakKB === 0 ? null : Math.round(serverPeakKB / 102.4) / 10,
    serverCpuSeconds: cpuBefore === null || cpuAfter === null ? null : Math.round((cpuAfter - cpuBefore) / 1e4) / 100,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

const pad = (s: string, n: number) => s.padEnd(n);
const num = (v: number | null, digits = 1) => (v === null ? '–' : v.toFixed(digits));

function fillTable(rows: readonly FillFigures[]): string {
  const lines = [
    'records  added     write s  write rec/s  blocks  checkpoints  failed appends  server CPU s  data dir MB',
    '-------  --------  -------  -----------  ------  -----------  --------------  ------------  -----------',
  ];
  for (const r of rows) {
    lines.push([
      pad(String(r.size), 7), pad(String(r.added), 8), num(r.seconds).padStart(7), String(r.recordsPerSecond).padStart(11), String(r.blocks).padStart(6),
      String(r.checkpoints).padStart(11), String(r.failedAppends).padStart(14), num(r.serverCpuSeconds).padStart(12), num(r.dataDirMB).padStart(11),
    ].join('  '));
  }
  return lines.join('\n');
}

function jobTable(rows: readonly JobFigures[]): string {
  const lines = [
    'task                       size      records   bytes MB  seconds  records/s  1st record s  base RSS MB  peak RSS MB  peak heap MB  server RSS before → peak MB  server CPU s',
    '-------------------------  -------  --------  ---------  -------  ---------  ------------  -----------  -----------  ------------  --------------------------  ------------',
  ];
  for (const r of rows) {
    lines.push([
      pad(r.task, 25), String(r.size).padStart(7), String(r.records).padStart(8), num(r.bytes / 1024 / 1024).padStart(9), num(r.seconds, 2).padStart(7),
      String(r.recordsPerSecond).padStart(9), num(r.firstRecordSeconds, 2).padStart(12), num(r.baselineRssMB).padStart(11), num(r.peakRssMB).padStart(11),
      num(r.peakHeapUsedMB).padStart(12), `${num(r.serverRssBeforeMB)} → ${num(r.serverPeakRssMB)}`.padStart(26), num(r.serverCpuSeconds, 2).padStart(12),
    ].join('  '));
  }
  return lines.join('\n');
}

/**
 * Peak RSS may differ by at most this much to count as constant: V8 grows its young generation
 * (up to 3 × 16 MB semi-spaces) under allocation pressure within the first seconds of a run, so a
 * short run peaks lower than a long one; that is GC sizing, not data held.
 */
const CONSTANT_SLACK_MB = 48;

interface Verdict {
  readonly task: string;
  readonly sizes: readonly number[];
  readonly peakRssMB: readonly number[];
  readonly peakHeapUsedMB: readonly number[];
  readonly serverPeakRssMB: ReadonlyArray<number | null>;
  /** Peak RSS growth from the smallest to the largest size, and from the one before the largest. */
  readonly rssGrowthMB: number;
  readonly rssGrowthLastStepMB: number;
  readonly serverRssGrowthMB: number | null;
  /** With CAPPED_FLAGS: the sizes run, and the peak RSS growth from the smallest of them to the largest. */
  readonly cappedSizes: readonly number[];
  readonly cappedRssGrowthMB: number | null;
  readonly constant: boolean;
  readonly text: string;
}

const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(1)}`;

function verdicts(rows: readonly JobFigures[]): Verdict[] {
  const out: Verdict[] = [];
  // Proofs are timed, not held to constant memory (from all leaves is O(N) by design): see proofSummary.
  for (const task of [...new Set(rows.filter((r) => !r.capped && !r.task.startsWith('prove')).map((r) => r.task))]) {
    const mine = rows.filter((r) => r.task === task && !r.capped).sort((a, b) => a.size - b.size);
    const first = mine[0]!;
    const last = mine[mine.length - 1]!;
    const before = mine[mine.length - 2] ?? first;
    const rssGrowthMB = last.peakRssMB - first.peakRssMB;
    const rssGrowthLastStepMB = last.peakRssMB - before.peakRssMB;
    const serverRssGrowthMB = first.serverPeakRssMB === null || last.serverPeakRssMB === null ? null : last.serverPeakRssMB - first.serverPeakRssMB;
    const cap = rows.filter((r) => r.task === `${task} ${CAPPED_LABEL}`).sort((a, b) => a.size - b.size);
    const cappedDied = cap.some((r) => !r.ok);
    const cappedRssGrowthMB = cap.length < 2 || cappedDied ? null : cap[cap.length - 1]!.peakRssMB - cap[0]!.peakRssMB;
    // Constant: with the same (capped) heap sizing, the peak RSS does not grow with N; with the
    // default sizing, it does not grow from the size before the largest on (the smallest run is too
    // short for V8 to size its heap as a long one does); and the server did not grow either.
    const cappedFlat = !cappedDied && (cappedRssGrowthMB === null || cappedRssGrowthMB <= CONSTANT_SLACK_MB);
    const defaultFlat = mine.length < 3 && cappedRssGrowthMB !== null ? true : rssGrowthLastStepMB <= CONSTANT_SLACK_MB;
    const constant = cappedFlat && defaultFlat && (serverRssGrowthMB === null || serverRssGrowthMB <= CONSTANT_SLACK_MB);
    const series = (f: (r: JobFigures) => number | null) => mine.map((r) => num(f(r))).join(' → ');
    const text = [
      `${constant ? '[CONSTANT]' : '[GROWS]   '} ${task}, ${mine.map((r) => r.size).join(' → ')} records:`,
      `    peak RSS ${series((r) => r.peakRssMB)} MB (${signed(rssGrowthMB)} MB from the smallest, ${signed(rssGrowthLastStepMB)} MB in the last step; the file grew by ${((last.bytes - first.bytes) / 1024 / 1024).toFixed(0)} MB)`,
      `    peak heapUsed ${series((r) => r.peakHeapUsedMB)} MB` + (serverRssGrowthMB === null ? '' : `; MongoDB-wire server peak RSS ${series((r) => r.serverPeakRssMB)} MB (${signed(serverRssGrowthMB)} MB)`),
      ...(cap.length === 0 ? [] : [
        `    with ${CAPPED_FLAGS.join(' ')}, ${cap.map((r) => `${r.size}${r.ok ? '' : ' (DIED)'}`).join(' → ')} records: peak RSS ${cap.map((r) => num(r.peakRssMB)).join(' → ')} MB` +
          `${cappedRssGrowthMB === null ? '' : ` (${signed(cappedRssGrowthMB)} MB)`}, peak heapUsed ${cap.map((r) => num(r.peakHeapUsedMB)).join(' → ')} MB`,
      ]),
    ].join('\n');
    const r1 = (n: number) => Math.round(n * 10) / 10;
    out.push({
      task, sizes: mine.map((r) => r.size), peakRssMB: mine.map((r) => r.peakRssMB), peakHeapUsedMB: mine.map((r) => r.peakHeapUsedMB), serverPeakRssMB: mine.map((r) => r.serverPeakRssMB),
      rssGrowthMB: r1(rssGrowthMB), rssGrowthLastStepMB: r1(rssGrowthLastStepMB), serverRssGrowthMB: serverRssGrowthMB === null ? null : r1(serverRssGrowthMB),
      cappedSizes: cap.map((r) => r.size), cappedRssGrowthMB: cappedRssGrowthMB === null ? null : r1(cappedRssGrowthMB), constant, text,
    });
  }
  return out;
}

/** Seconds per proof by log size, for each way of proving. */
function proofSummary(rows: readonly JobFigures[]): string[] {
  return [...new Set(rows.filter((r) => r.task.startsWith('prove')).map((r) => r.task))].map((task) => {
    const mine = rows.filter((r) => r.task === task).sort((a, b) => a.size - b.size);
    return `${pad(task, 25)} ${mine.map((r) => `${r.size}: ${r.seconds.toFixed(2)} s (peak heap ${num(r.peakHeapUsedMB)} MB${r.serverCpuSeconds === null ? '' : `, server CPU ${r.serverCpuSeconds.toFixed(2)} s`})`).join('  ·  ')}`;
  });
}

// ---------------------------------------------------------------------------------------------
// Main

const cleanups: Array<() => Promise<unknown>> = [];
let tearingDown: Promise<void> | undefined;
const tearDown = () => (tearingDown ??= (async () => {
  for (const child of running) child.kill('SIGKILL');
  for (const step of cleanups.splice(0).reverse()) await step().catch((error: unknown) => log(`cleanup step failed: ${String(error)}`));
})());

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping children and the server, dropping the database …`);
    void tearDown().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  log(`== Export of the trail: memory (${quick ? 'quick' : 'full'} run; sizes ${sizes.join(', ')}; maxBatch ${maxBatch})`);
  const dataDir = await mkdtemp(join(tmpdir(), 'yiwang-bench-export-mongo-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const filesDir = await mkdtemp(join(tmpdir(), 'yiwang-bench-export-files-'));
  if (!keepFiles) cleanups.push(() => rm(filesDir, { recursive: true, force: true }));

  const mongo: MongoProvision = await provisionMongo({ dataDir, cacheDir: join(ROOT, '.cache'), log: (m) => log(`  ${m}`) });
  cleanups.push(() => mongo.stop());
  const client = new MongoClient(mongo.uri, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  const database = `bench_export_${randomBytes(3).toString('hex')}`;
  const db = client.db(database);
  cleanups.push(async () => {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  });
  const info = await client.db('admin').command({ buildInfo: 1 });
  const mongoDescription = typeof info['ferretdbVersion'] === 'string'
    ? `FerretDB ${String(info['ferretdbVersion'])} (MongoDB ${String(info['version'])} wire)${mongo.source === 'env' ? ', from MONGODB_URI' : ', SQLite backend'}`
    : `MongoDB ${String(info['version'])} (${mongo.source === 'env' ? 'MONGODB_URI' : 'mongod from PATH'})`;
  const serverPid = mongo.pid;
  log(`  server: ${mongoDescription}${serverPid === undefined ? ' (not started here: its memory is not measured)' : `, pid ${serverPid}`}`);

  // The hub's indexes and its writer: a signed log with the hub's defaults (a checkpoint every
  // 10 000 records, and every 10 s when records were added).
  await ensureAuditIndexes(db);
  const signer = noteSigner('bench-export', randomBytes(32).toString('hex'));
  const evidence = new EvidenceLog(db, {
    origin: newOrigin('bench-export'), signer, onError: (e) => log(`  checkpoint failed: ${String(e)}`),
  });
  await evidence.register();
  const writer = new AuditWriter(db, { log: evidence, maxBatch, maxInFlight: 2, deadlineMs: 60_000, onError: (e) => log(`  audit write failed: ${String(e)}`) });
  cleanups.push(() => writer.close());
  const source = new RecordSource();

  const fills: FillFigures[] = [];
  const jobs: JobFigures[] = [];
  let written = 0;
  let failedTotal = 0;
  for (const size of sizes) {
    const added = size - written;
    log(`\n-- ${size} records: writing ${added} through AuditWriter (maxBatch ${maxBatch}, up to 2 blocks per write, majority) …`);
    const cpuBefore = serverPid === undefined ? null : await processCpuMicros(serverPid);
    const t0 = performance.now();
    const failed = await fill(writer, source, added);
    await writer.flush();
    await checkpointAll(evidence); // a checkpoint covering every record, so the export verifies to its end
    const seconds = (performance.now() - t0) / 1000;
    const cpuAfter = serverPid === undefined ? null : await processCpuMicros(serverPid);
    written = size;
    failedTotal += failed;
    const figures: FillFigures = {
      size, added, seconds: Math.round(seconds * 10) / 10, recordsPerSecond: Math.round(added / seconds),
      blocks: await collectionCount(db, ACCESS_COLLECTION), checkpoints: await collectionCount(db, CHECKPOINTS_COLLECTION), failedAppends: failed,
      serverCpuSeconds: cpuBefore === null || cpuAfter === null ? null : Math.round((cpuAfter - cpuBefore) / 1e5) / 10,
      dataDirMB: mongo.source === 'env' ? null : Math.round((await dirBytes(dataDir)) / 1024 / 102.4) / 10,
    };
    fills.push(figures);
    log(`   ${added} records in ${figures.seconds} s (${figures.recordsPerSecond} records/s), ${figures.blocks} blocks, ${figures.checkpoints} checkpoints, log size ${evidence.size}` +
      `${failed ? `, ${failed} appends FAILED (fillers written)` : ''}`);

    const jsonl = join(filesDir, `trail-${size}.jsonl`);
    const csv = join(filesDir, `trail-${size}.csv`);
    const exportJsonl: ExportJob = { kind: 'export', format: 'jsonl' satisfies ExportFormat, uri: mongo.uri, database, file: jsonl };
    const verifyJsonl: ExportJob = { kind: 'verify', file: jsonl, key: signer.verifierKey };
    const steps: Array<[string, ExportJob, readonly string[]]> = [
      ['export jsonl', exportJsonl, []],
      ['export csv', { kind: 'export', format: 'csv' satisfies ExportFormat, uri: mongo.uri, database, file: csv }, []],
      ['verify jsonl', verifyJsonl, []],
      ['verify in database', { kind: 'verify-db', uri: mongo.uri, database, key: signer.verifierKey }, []],
      // An auditor opening a record: the proof from every leaf (before audit/tree.ts), then as the hub
      // gives it, first filling the stored tree with what this size added, then from the stored tree.
      ['prove from all leaves', { kind: 'prove', from: 'leaves', uri: mongo.uri, database, key: signer.verifierKey, seq: Math.floor(size / 3) }, []],
      ['prove (fills the tree)', { kind: 'prove', from: 'tree', uri: mongo.uri, database, key: signer.verifierKey, seq: Math.floor(size / 2) }, []],
      ['prove (tree stored)', { kind: 'prove', from: 'tree', uri: mongo.uri, database, key: signer.verifierKey, seq: Math.floor(size / 3) }, []],
    ];
    if (capped) {
      // Own files: a capped export that dies leaves a partial file, which its verification then reports.
      // Above BENCH_EXPORT_CAPPED_MAX only the verifications: of the default run's file, and in the database.
      const other = (job: ExportJob): ExportJob => ('file' in job ? { ...job, file: job.file.replace(/\.(jsonl|csv)$/, '-capped.$1') } : job);
      const all = size <= cappedMax || size === sizes[0];
      for (const [task, job] of [...steps]) {
        if (job.kind !== 'prove' && (all || job.kind === 'verify' || job.kind === 'verify-db')) steps.push([`${task} ${CAPPED_LABEL}`, all ? other(job) : job, CAPPED_FLAGS]);
      }
    }
    for (const [task, job, flags] of steps) {
      const r = await measureJob(task, size, job, flags, serverPid);
      jobs.push(r);
      log(`   ${pad(task, 25)} ${r.records} records, ${num(r.bytes / 1024 / 1024)} MB in ${r.seconds} s (${r.recordsPerSecond}/s): peak RSS ${r.peakRssMB} MB (baseline ${r.baselineRssMB}), ` +
        `peak heapUsed ${r.peakHeapUsedMB} MB${r.serverPeakRssMB === null ? '' : `; server RSS ${r.serverRssBeforeMB} → peak ${r.serverPeakRssMB} MB, CPU ${r.serverCpuSeconds} s`}`);
      if (r.verify) {
        const v = r.verify;
        const complete = v.ok && v.verifiedSize === size && r.records === size;
        log(`   ${complete ? 'verifies' : 'DOES NOT VERIFY'}: ${v.logs} log(s), ${v.checkpoints} checkpoints, verified to ${v.verifiedSize} of ${r.records} records, ${v.problems} problems`);
        if (!complete && !r.capped) throw new Error(`the export of ${size} records does not verify to its end`);
      }
    }
    if (!keepFiles) for (const [, job] of steps) if ('file' in job) await rm(job.file, { force: true });
  }

  const verdictList = verdicts(jobs);
  const machine = describeMachine(mongoDescription);
  const revision = await readRevision();
  const durationSeconds = Math.round((performance.now() - started) / 1000);
  log(`\n== Results — ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGB} GB, Node ${machine.node}, ${machine.os}, ${mongoDescription}` +
    `${revision.commit ? `, commit ${revision.commit}${revision.changedOutsideBench.length ? ` + changes in ${revision.changedOutsideBench.join(', ')}` : ''}` : ''}\n`);
  log(fillTable(fills));
  log('');
  log(jobTable(jobs));
  log(`\n== Verdict (constant: peak RSS grows by at most ${CONSTANT_SLACK_MB} MB with N — with the heap capped from the smallest size on,` +
    ' with default V8 settings in the last step (a run of seconds peaks lower than a long one: GC sizing); the server\'s peak RSS likewise)');
  for (const v of verdictList) log(`  ${v.text}`);
  const all = verdictList.every((v) => v.constant);
  const series = (v: Verdict) => `${v.task} ${v.peakRssMB.map((x) => x.toFixed(0)).join(' → ')} MB`;
  log(`\n  VERDICT: ${all ? 'constant memory' : 'NOT constant memory'} from ${sizes[0]} to ${sizes[sizes.length - 1]} records. Peak RSS: ${verdictList.map(series).join('; ')}` +
    `${verdictList.some((v) => v.serverRssGrowthMB !== null) ? `. MongoDB-wire server: ${verdictList.filter((v) => v.task.startsWith('export')).map((v) => `${v.task} ${v.serverPeakRssMB.map((x) => num(x, 0)).join(' → ')} MB`).join('; ')}` : ''}.`);
  const proofs = proofSummary(jobs);
  log(`\n== Proofs (an auditor opening a record: its inclusion proof in the latest checkpoint, checked against it)`);
  for (const line of proofs) log(`  ${line}`);
  const total = fills.reduce((n, f) => n + f.added, 0);
  const writeSeconds = fills.reduce((n, f) => n + f.seconds, 0);
  log(`  Writing ${total} records through AuditWriter took ${writeSeconds.toFixed(0)} s (${Math.round(total / writeSeconds)} records/s).`);
  if (failedTotal) log(`  note: ${failedTotal} appends failed during the fill; their records are fillers in the log`);
  if (keepFiles) log(`\nExport files kept in ${filesDir}`);

  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify({ date: new Date().toISOString(), revision, machine, quick, maxBatch, sizes, fills, jobs, verdicts: verdictList, proofs, durationSeconds }, null, 2)}\n`);
  log(`\nWrote ${out} (${durationSeconds} s)`);
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await tearDown();
}
