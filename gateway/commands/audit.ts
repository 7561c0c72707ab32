/**
 * `hub audit key | checkpoint | logs | verify | export | archive`: the trail's verifier key, its
 * latest checkpoints, its logs and their state, verification of every log against its signed
 * checkpoints, exports and archives, from the command line.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { userInfo } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInterface } from 'node:readline';
import {
  ADMIN_LOG, adoptionsUnderWay, appendAdmin, archiveTrail, CHECKPOINTS_COLLECTION, convertSummaries, exportTrail, LOGS_COLLECTION, retentionCutoff, RetentionError, noteSigner, parseVerifierKey, verifyExport, verifyTrail,
  type ArchiveResult, type CheckpointDoc, type ExportFormat, type LogDoc, type SummaryForm, type TrailReport,
} from '../../audit/index.ts';
import { loadConfig, readSigningKey } from '../config.ts';
import { withHubDb } from '../mongo/client.ts';
import { withAdminChange } from './admin-log.ts';

/** The verifier key (name+hash+key) of the configured signing key. */
export async function verifierKey(configPath: string): Promise<string> {
  const config = await loadConfig(configPath);
  return noteSigner(config.audit.keyName, await readSigningKey(config)).verifierKey;
}

export async function latestCheckpoint(configPath: string, log: string | undefined): Promise<string | null> {
  const config = await loadConfig(configPath);
  return withHubDb(config, async (db) => {
    // Without a log named: the access logs' latest (the administrative log's: `--log admin`).
    const filter = log ? { log } : { log: { $ne: ADMIN_LOG } };
    const doc = await db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION).find(filter).sort({ at: -1 }).limit(1).next();
    return doc?.note ?? null;
  });
}

/**
 * The access logs, one line each: origin, state and start. The state: `open` (its hub's last sign
 * of life; and which hub is reading it for adoption), `closed` (stopped with everything signed),
 * `adopted` (stopped without closing it; signed to its end by another hub, or not, with the
 * problem that stopped it).
 */
export async function logs(configPath: string): Promise<string[]> {
  return withHubDb(await loadConfig(configPath), async (db) => {
    const docs = await db.collection<LogDoc>(LOGS_COLLECTION).find({}, { projection: { _id: 0, archived: 0 } }).sort({ origin: 1 }).toArray();
    const reading = await adoptionsUnderWay(db);
    return docs.map((l) => `${l.origin}\t${logState(l, reading.get(l.origin))}\tstarted ${l.startedAt.toISOString()}`);
  });
}

function logState(l: LogDoc, lease: { by: string; until: Date } | undefined): string {
  if (l.closed) return `closed ${l.closed.toISOString()}`;
  if (l.adopted) {
    return l.adopted.size === null
      ? `adopted, not signed (${l.adopted.problem ?? 'it does not verify'}) by ${l.adopted.by} ${l.adopted.at.toISOString()}`
      : `adopted, signed to ${l.adopted.size} by ${l.adopted.by} ${l.adopted.at.toISOString()}`;
  }
  const reading = lease ? `, being adopted by ${lease.by} (lease to ${lease.until.toISOString()})` : '';
  return `${l.seen ? `open, seen ${l.seen.toISOString()}` : 'open'}${reading}`;
}

/**
 * Writes the summaries of every evidence block in the form of the configured server (lists on
 * MongoDB, text on FerretDB) or the one given: after a trail was moved from one to the other
 * (audit/summaries.ts). One line: how many blocks were (or, dry, would be) converted.
 */
export async function summaries(configPath: string, options: { to?: SummaryForm | undefined; dryRun: boolean }): Promise<string> {
  return withHubDb(await loadConfig(configPath), async (db) => {
    // A trail of years is millions of blocks: say how far it got, every 10 s, on stderr.
    let said = Date.now();
    const onProgress = (soFar: { blocks: number; converted: number }) => {
      if (Date.now() - said < 10_000) return;
      said = Date.now();
      process.stderr.write(`hub: ${soFar.blocks} evidence blocks read, ${soFar.converted} converted so far\n`);
    };
    const done = await convertSummaries(db, { ...(options.to ? { form: options.to } : {}), dryRun: options.dryRun, onProgress });
    const form = done.form === 'fields' ? 'lists (MongoDB)' : 'text (FerretDB)';
    return `${done.converted} of ${done.blocks} evidence blocks ${options.dryRun ? 'would have' : 'have'} their summaries written as ${form}${options.dryRun ? ' (dry run: nothing changed)' : ''}`;
  });
}

/** Verifies the trail with the given verifier key (default: the configured key's). */
export async function verify(configPath: string, options: { log?: string | undefined; key?: string | undefined }): Promise<TrailReport> {
  const config = await loadConfig(configPath);
  const key = options.key ?? noteSigner(config.audit.keyName, await readSigningKey(config)).verifierKey;
  return withHubDb(config, (db) => verifyTrail(db, parseVerifierKey(key), options.log));
}

export function formatReport(report: TrailReport): string[] {
  const lines: string[] = [];
  for (const l of report.logs) {
    lines.push(`${l.problems.length === 0 ? 'ok' : 'FAILED'}\t${l.log}\t${l.records} records, ${l.checkpoints} checkpoints, verified to ${l.verifiedSize}${l.uncheckpointed ? `, ${l.uncheckpointed} after the last checkpoint` : ''}`);
    for (const p of l.problems) lines.push(`  ${p.kind} at ${p.at}: ${p.detail}`);
  }
  lines.push(report.ok ? `the trail verifies (${report.logs.length} logs)` : 'the trail does NOT verify');
  return lines;
}

/** Streams an export to a file or stdout; the export is itself an admin-change record. */
export async function exportToFile(configPath: string, options: { format: ExportFormat; log?: string | undefined; out?: string | undefined }): Promise<void> {
  const config = await loadConfig(configPath);
  await withAdminChange(config, async (db, sign) => {
    await appendAdmin(db, { actor: `cli:${userInfo().username}`, role: 'cli', action: 'audit.export', target: options.log ?? 'all', after: { format: options.format } });
    // The export holds its own record, under a checkpoint when the key is here.
    await sign();
    const source = Readable.from(exportTrail(db, options.format, options.log));
    await pipeline(source, options.out ? createWriteStream(options.out) : process.stdout);
  });
}

/** Verifies an export file offline, with only the verifier key. */
export async function verifyExportFile(file: string, key: string): Promise<TrailReport> {
  const verifier = parseVerifierKey(key);
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  return verifyExport(lines, verifier);
}

/**
 * Archives the records past the retention period (`audit.retentionDays`, 3 years at least) to a
 * verifiable JSONL file, then removes them. `before` may move the cut-off earlier, never later.
 */
export async function archive(configPath: string, options: { out?: string | undefined; before?: string | undefined; dryRun: boolean }): Promise<ArchiveResult> {
  const config = await loadConfig(configPath);
  const cutoff = retentionCutoff(new Date(), config.audit.retentionDays);
  let before = cutoff;
  if (options.before !== undefined) {
    const asked = new Date(options.before);
    if (!/^\d{4}-\d{2}-\d{2}/.test(options.before) || Number.isNaN(asked.getTime())) throw new RetentionError(`--before must be an ISO date or date-time, got "${options.before}"`);
    if (asked > cutoff) {
      throw new RetentionError(`records are kept ${config.audit.retentionDays} days (audit.retentionDays; 3 years at least): --before must be ${cutoff.toISOString()} or earlier`);
    }
    before = asked;
  }
  if (!options.dryRun && !options.out) throw new RetentionError('archive needs --out <file> (or --dry-run)');
  const verifier = parseVerifierKey(noteSigner(config.audit.keyName, await readSigningKey(config)).verifierKey);
  return withAdminChange(config, (db) => archiveTrail(db, {
    before, out: options.out ?? '', verifier, actor: `cli:${userInfo().username}`, role: 'cli', dryRun: options.dryRun,
  }));
}

export function formatArchive(result: ArchiveResult, dryRun: boolean): string[] {
  const lines = result.logs.map((l) => `${dryRun ? 'would archive' : 'archived'}\t${l.log}\trecords ${l.from}–${l.to - 1} (${l.to - l.from})`);
  for (const s of result.skipped) lines.push(`kept\t${s.log}\t${s.reason}`);
  if (result.logs.length === 0) lines.push('nothing to archive: no log has records past the retention period up to a signed checkpoint');
  else if (dryRun) lines.push(`${result.records} records would be archived`);
  else lines.push(`${result.records} records archived to ${result.file} (sha256 ${result.sha256}) and removed; verify it with: hub audit verify --file ${result.file} --key <verifier key>`);
  return lines;
}
