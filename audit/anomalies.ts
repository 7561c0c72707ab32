/**
 * Anomaly flags for auditors (异常访问提示), each with its records, over a range of calendar days:
 *
 * - VOLUME: a grant's records of one day above `volumeFactor` × the expected daily volume its
 *   sharing application stated (grants without one, e.g. seeded from grants.yaml, are not judged);
 * - OFF_HOURS: records of one system and operator outside the working hours of a working day, or
 *   on a day the working-day calendar says is not one (weekends, public holidays; 调休 days work);
 * - REPEATED_REFUSALS: one system, or one operator of a system, refused `refusalsPerDay` times or
 *   more in one day (a department system's outage is not a refusal of the caller);
 * - SENSITIVE_READ: records that served (clear or masked) a sensitive or biometric item, or that
 *   verified a biometric one (a face comparison processes biometric data; a sensitive item's
 *   verification reveals nothing), per day, system and resource;
 * - MANY_PURPOSES: one data subject served under `unrelatedPurposes` or more unrelated purposes
 *   (purposes sharing a catalogue `theme` are related) within `purposeWindowDays` days.
 *
 * The records of the days asked for are read block by block (the database selects the blocks by
 * time) and decoded in the hub: compact blocks keep records as canonical JSON lines
 * (audit/encoding.ts), which no aggregation can look into. Each flag's condition is a MongoDB
 * query document over `records.*`, evaluated by sift on each record; counting and grouping are
 * passes over the window, in constant memory but for the groups, and one last pass picks the first
 * `recordLimit` records of every flag.
 */
import type { Db, Document } from 'mongodb';
import siftModule from 'sift';
import { accessRecordsOf, RECORDS_PROJECTION } from './encoding.ts';
import { unpackRecord, type EvidenceBlock } from './record.ts';
import { recordId, type StoredAccess } from './search.ts';
import { ACCESS_COLLECTION } from './writer.ts';

export type AnomalyKind = 'VOLUME' | 'OFF_HOURS' | 'REPEATED_REFUSALS' | 'SENSITIVE_READ' | 'MANY_PURPOSES';
export const ANOMALY_KINDS: readonly AnomalyKind[] = ['VOLUME', 'OFF_HOURS', 'REPEATED_REFUSALS', 'SENSITIVE_READ', 'MANY_PURPOSES'];

/** `config.audit.anomalies`. */
export interface AnomalyThresholds {
  readonly volumeFactor: number;
  /** HH:MM-HH:MM in the deployment's time zone. */
  readonly workingHours: string;
  readonly refusalsPerDay: number;
  readonly unrelatedPurposes: number;
  readonly purposeWindowDays: number;
}

/** A resource's items whose reads are flagged. */
export interface ClassifiedItems {
  readonly sensitive: readonly string[];
  readonly biometric: readonly string[];
}

export interface AnomalyOptions {
  /** Calendar days (YYYY-MM-DD) in the deployment's time zone, both included; at most 366 days. */
  readonly from: string;
  readonly to: string;
  /** Default: every kind. */
  readonly kinds?: readonly AnomalyKind[];
  readonly thresholds: AnomalyThresholds;
  readonly timeZone: string;
  readonly isWorkingDay: (day: string) => boolean;
  /** The expected daily volume of each grant that has one (from its sharing application). */
  readonly expectedDailyVolumes: (grantIds: readonly string[]) => Promise<ReadonlyMap<string, number>>;
  /** Resource code → its sensitive and biometric items (the catalogue as served now). */
  readonly classified: ReadonlyMap<string, ClassifiedItems>;
  /** A purpose's theme; a purpose without one is its own. */
  readonly themeOf: (purpose: string) => string;
  /** Records returned per flag, oldest first (default 100); `recordCount` has them all. */
  readonly recordLimit?: number;
}

export interface AnomalyFlag {
  readonly kind: AnomalyKind;
  /** The day of a daily flag; null for MANY_PURPOSES. */
  readonly day: string | null;
  /** The days the flag covers, both included: its day, or the window of MANY_PURPOSES' reads. */
  readonly from: string;
  readonly to: string;
  readonly grant: string | null;
  readonly system: string | null;
  readonly department: string | null;
  /** REPEATED_REFUSALS: null for the system's flag, the operator for an operator's. OFF_HOURS: as recorded. */
  readonly operator: string | null;
  readonly resource: string | null;
  /** Keyed hash of the data subject (MANY_PURPOSES). */
  readonly subject: string | null;
  readonly purposes: readonly string[];
  readonly themes: readonly string[];
  /** SENSITIVE_READ: the resource's sensitive and biometric items. */
  readonly items: readonly string[];
  readonly expectedDailyVolume: number | null;
  /** What was measured: records (VOLUME, OFF_HOURS, SENSITIVE_READ), refusals, or unrelated purposes (themes). */
  readonly count: number;
  /** The smallest count that raises this flag. */
  readonly threshold: number;
  readonly recordCount: number;
  /** Ids (`<log>#<seq>`) of the first `recordLimit` records, oldest first. */
  readonly recordIds: readonly string[];
  readonly records: readonly StoredAccess[];
}

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_RANGE_DAYS = 366;
/** A department system's outage refuses no one. */
const NOT_REFUSALS = ['UPSTREAM_UNAVAILABLE'];
const SERVED = ['allow', 'partial'];

const timeOfDay = (day: string): number => Date.parse(`${day}T00:00:00Z`);
export const addDays = (day: string, n: number): string => new Date(timeOfDay(day) + n * DAY_MS).toISOString().slice(0, 10);

/** A real calendar date (2026-02-30 is not). */
export function isCalendarDate(value: string): boolean {
  return DATE.test(value) && !Number.isNaN(timeOfDay(value)) && addDays(value, 0) === value;
}

/** Why a day range is not acceptable, or null. */
export function rangeProblem(from: string, to: string): string | null {
  if (!isCalendarDate(from)) return 'from must be a date YYYY-MM-DD.';
  if (!isCalendarDate(to)) return 'to must be a date YYYY-MM-DD.';
  if (to < from) return 'to is before from.';
  if ((timeOfDay(to) - timeOfDay(from)) / DAY_MS + 1 > MAX_RANGE_DAYS) return `The range may cover at most ${MAX_RANGE_DAYS} days.`;
  return null;
}

/** `08:30-18:00` → minutes after midnight; RangeError unless start < end ≤ 24:00. */
export function parseWorkingHours(spec: string): { readonly start: number; readonly end: number } {
  const m = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(spec);
  const [sh, sm, eh, em] = m ? m.slice(1).map(Number) as [number, number, number, number] : [NaN, NaN, NaN, NaN];
  const start = sh * 60 + sm;
  const end = eh * 60 + em;
  if (!m || sh > 23 || sm > 59 || em > 59 || end > 1440 || start >= end) {
    throw new RangeError(`working hours must be HH:MM-HH:MM with the start before the end, at most 24:00; got ${JSON.stringify(spec)}`);
  }
  return { start, end };
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** Milliseconds the wall clock of `timeZone` is ahead of UTC at `time`. */
function zoneOffset(timeZone: string, time: number): number {
  let format = zoneFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    zoneFormats.set(timeZone, format);
  }
  const p: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(time))) p[part.type] = Number(part.value);
  const wall = Date.UTC(p['year']!, p['month']! - 1, p['day']!, p['hour']!, p['minute']!, p['second']!);
  return wall - Math.floor(time / 1000) * 1000;
}

/** The instant the wall clock of `timeZone` shows `minutes` after midnight of `day` (24:00 = the next midnight). */
export function zonedTime(day: string, minutes: number, timeZone: string): number {
  const wall = timeOfDay(day) + minutes * 60_000;
  const guess = wall - zoneOffset(timeZone, wall);
  // Near an offset change the offset at the guess is the one that applies.
  return wall - zoneOffset(timeZone, guess);
}

/**
 * The spans [from, to) of the days `from`..`to` outside working hours: before and after the hours
 * of each working day, and the whole of every other day. Adjacent spans are joined.
 */
export function offHoursSpans(
  from: string,
  to: string,
  hours: { readonly start: number; readonly end: number },
  isWorkingDay: (day: string) => boolean,
  timeZone: string,
): Array<{ from: Date; to: Date }> {
  const spans: Array<{ from: Date; to: Date }> = [];
  let cursor = zonedTime(from, 0, timeZone);
  for (let day = from; day <= to; day = addDays(day, 1)) {
    if (!isWorkingDay(day)) continue;
    const start = zonedTime(day, hours.start, timeZone);
    if (start > cursor) spans.push({ from: new Date(cursor), to: new Date(start) });
    cursor = zonedTime(day, hours.end, timeZone);
  }
  const end = zonedTime(addDays(to, 1), 0, timeZone);
  if (end > cursor) spans.push({ from: new Date(cursor), to: new Date(end) });
  return spans;
}

export interface SubjectReads {
  readonly day: string;
  readonly purpose: string;
  readonly count: number;
}

/**
 * Of the windows of `windowDays` days ending on a day in `from`..`to` on which the subject was
 * read, the one with the most themes (the earliest on a tie), narrowed to the days it was read.
 */
export function worstWindow(
  reads: readonly SubjectReads[],
  options: { readonly from: string; readonly to: string; readonly windowDays: number; readonly themeOf: (purpose: string) => string },
): { from: string; to: string; purposes: string[]; themes: string[]; records: number } | null {
  const ends = [...new Set(reads.map((r) => r.day))].filter((d) => d >= options.from && d <= options.to).sort();
  let best: { from: string; to: string; purposes: string[]; themes: string[]; records: number } | null = null;
  for (const end of ends) {
    const start = addDays(end, -(options.windowDays - 1));
    const inside = reads.filter((r) => r.day >= start && r.day <= end);
    const themes = [...new Set(inside.map((r) => options.themeOf(r.purpose)))].sort();
    if (best && themes.length <= best.themes.length) continue;
    best = {
      from: inside.map((r) => r.day).sort()[0]!,
      to: end,
      purposes: [...new Set(inside.map((r) => r.purpose))].sort(),
      themes,
      records: inside.reduce((n, r) => n + r.count, 0),
    };
  }
  return best;
}

/** The $match of records that served a sensitive or biometric item, or verified a biometric one; null when none can. */
export function sensitiveMatch(classified: ReadonlyMap<string, ClassifiedItems>, only?: string): Document | null {
  const clauses: Document[] = [];
  for (const [resource, { sensitive, biometric }] of classified) {
    if (only !== undefined && resource !== only) continue;
    const served = [...sensitive, ...biometric];
    if (served.length === 0) continue;
    const any: Document[] = [{ 'records.itemsReturned': { $in: served } }, { 'records.itemsMasked': { $in: served } }];
    if (biometric.length > 0) any.push({ 'records.itemsVerified': { $in: [...biometric] } });
    clauses.push({ 'records.resource': resource, $or: any });
  }
  return clauses.length > 0 ? { $or: clauses } : null;
}

type Row = { _id: Record<string, unknown>; count: number };

/** Every access record of the days `from`..`to`, decoded from the blocks that may hold one. */
async function* recordsOfDays(db: Db, from: string, to: string): AsyncGenerator<StoredAccess> {
  const blocks = db.collection<EvidenceBlock>(ACCESS_COLLECTION).find(
    // Blocks whose records may fall on these days, in any time zone.
    { aborted: { $ne: true }, last: { $gte: new Date(timeOfDay(from) - DAY_MS) }, first: { $lt: new Date(timeOfDay(to) + 2 * DAY_MS) } },
    { projection: RECORDS_PROJECTION },
  );
  for await (const block of blocks) {
    for (const stored of accessRecordsOf(block)) {
      if (typeof stored.seq !== 'number' || !stored.day || stored.day < from || stored.day > to) continue;
      yield { ...unpackRecord(stored), log: stored.log ?? block.log ?? '', seq: stored.seq } as StoredAccess;
    }
  }
}

// A CommonJS module whose function is also its `default` (so under TypeScript's and Node's ESM alike).
const sift = siftModule.default;

/** A condition over `records.*` (a MongoDB query document) as a test of one record. */
function tester(match: Document): (record: StoredAccess) => boolean {
  const test = sift(match);
  return (record) => test({ records: record });
}

/** The records of days `from`..`to` that match, counted by the values of `keys`. */
async function grouped(db: Db, from: string, to: string, match: Document, keys: readonly (keyof StoredAccess)[]): Promise<Row[]> {
  const test = tester(match);
  const groups = new Map<string, Row>();
  for await (const record of recordsOfDays(db, from, to)) {
    if (!test(record)) continue;
    const values = keys.map((k) => record[k] ?? null);
    const key = JSON.stringify(values);
    const row = groups.get(key);
    if (row) row.count++;
    else groups.set(key, { _id: Object.fromEntries(keys.map((k, i) => [k, values[i]])), count: 1 });
  }
  return [...groups.values()];
}

const older = (a: StoredAccess, b: StoredAccess): number => a.at.getTime() - b.at.getTime() || a.log.localeCompare(b.log) || a.seq - b.seq;

/** For each draft, its first `limit` records, oldest first: one pass over the days the drafts cover. */
async function firstRecords(db: Db, drafts: readonly Draft[], limit: number): Promise<StoredAccess[][]> {
  const found = drafts.map((): StoredAccess[] => []);
  if (drafts.length === 0 || limit <= 0) return found;
  const byDay = new Map<string, Array<{ test: (r: StoredAccess) => boolean; into: StoredAccess[] }>>();
  drafts.forEach((d, i) => {
    const entry = { test: tester(d.match), into: found[i]! };
    for (let day = d.from; day <= d.to; day = addDays(day, 1)) {
      const list = byDay.get(day);
      if (list) list.push(entry);
      else byDay.set(day, [entry]);
    }
  });
  const from = drafts.reduce((m, d) => (d.from < m ? d.from : m), drafts[0]!.from);
  const to = drafts.reduce((m, d) => (d.to > m ? d.to : m), drafts[0]!.to);
  for await (const record of recordsOfDays(db, from, to)) {
    for (const { test, into } of byDay.get(record.day!) ?? []) {
      if (into.length >= limit && older(record, into[into.length - 1]!) >= 0) continue;
      if (!test(record)) continue;
      let i = into.length;
      while (i > 0 && older(into[i - 1]!, record) > 0) i--;
      into.splice(i, 0, record);
      if (into.length > limit) into.pop();
    }
  }
  return found;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

type Draft = Omit<AnomalyFlag, 'recordIds' | 'records'> & { readonly match: Document };

function draft(kind: AnomalyKind, fields: Partial<Draft> & Pick<Draft, 'from' | 'to' | 'count' | 'threshold' | 'recordCount' | 'match'>): Draft {
  return {
    kind, day: null, grant: null, system: null, department: null, operator: null, resource: null, subject: null,
    purposes: [], themes: [], items: [], expectedDailyVolume: null, ...fields,
  };
}

async function volumeFlags(db: Db, o: AnomalyOptions): Promise<Draft[]> {
  // Every record that names the grant, served or refused: a bulk pull the quota stopped is still one.
  const rows = await grouped(db, o.from, o.to, {}, ['day', 'grants']);
  const perDay = new Map<string, number>();
  for (const row of rows) {
    const day = str(row._id['day']);
    const grants = row._id['grants'];
    if (!day || grants == null) continue;
    const ids = new Set((Array.isArray(grants) ? grants : [grants]).map((g) => str((g as { id?: unknown }).id)).filter((g) => g !== null));
    for (const id of ids) perDay.set(`${day}\u0000${id}`, (perDay.get(`${day}\u0000${id}`) ?? 0) + row.count);
  }
  const expected = await o.expectedDailyVolumes([...new Set([...perDay.keys()].map((k) => k.split('\u0000')[1]!))].sort());
  const out: Draft[] = [];
  for (const [key, count] of perDay) {
    const [day, grant] = key.split('\u0000') as [string, string];
    const volume = expected.get(grant);
    if (volume === undefined) continue;
    const threshold = Math.floor(o.thresholds.volumeFactor * volume) + 1;
    if (count < threshold) continue;
    out.push(draft('VOLUME', { day, from: day, to: day, grant, expectedDailyVolume: volume, count, threshold, recordCount: count, match: { 'records.day': day, 'records.grants.id': grant } }));
  }
  return out;
}

async function offHoursFlags(db: Db, o: AnomalyOptions): Promise<Draft[]> {
  const spans = offHoursSpans(o.from, o.to, parseWorkingHours(o.thresholds.workingHours), o.isWorkingDay, o.timeZone);
  if (spans.length === 0) return [];
  const outside = { $or: spans.map((s) => ({ 'records.at': { $gte: s.from, $lt: s.to } })) };
  const rows = await grouped(db, o.from, o.to, outside, ['day', 'system', 'department', 'operator']);
  return rows.map((row) => {
    const day = str(row._id['day'])!;
    const key = { system: str(row._id['system']), department: str(row._id['department']), operator: str(row._id['operator']) };
    return draft('OFF_HOURS', {
      day, from: day, to: day, ...key, count: row.count, threshold: 1, recordCount: row.count,
      match: { $and: [outside, { 'records.day': day, 'records.system': key.system, 'records.department': key.department, 'records.operator': key.operator }] },
    });
  });
}

async function refusalFlags(db: Db, o: AnomalyOptions): Promise<Draft[]> {
  const refused = { 'records.decision': 'deny', 'records.code': { $nin: NOT_REFUSALS } };
  const threshold = o.thresholds.refusalsPerDay;
  const flags = (rows: Row[], byOperator: boolean) => rows
    .filter((row) => row.count >= threshold && (!byOperator || str(row._id['operator']) !== null))
    .map((row) => {
      const day = str(row._id['day'])!;
      const key = { system: str(row._id['system']), department: str(row._id['department']), operator: byOperator ? str(row._id['operator']) : null };
      const match: Document = { ...refused, 'records.day': day, 'records.system': key.system, 'records.department': key.department };
      if (byOperator) match['records.operator'] = key.operator;
      return draft('REPEATED_REFUSALS', { day, from: day, to: day, ...key, count: row.count, threshold, recordCount: row.count, match });
    });
  // One pass, by operator; a system's refusals are the sum over its operators.
  const byOperator = await grouped(db, o.from, o.to, refused, ['day', 'system', 'department', 'operator']);
  const bySystem = new Map<string, Row>();
  for (const row of byOperator) {
    const { operator: _operator, ...id } = row._id;
    const key = JSON.stringify([id['day'], id['system'], id['department']]);
    const total = bySystem.get(key);
    if (total) total.count += row.count;
    else bySystem.set(key, { _id: id, count: row.count });
  }
  return [...flags([...bySystem.values()], false), ...flags(byOperator, true)];
}

async function sensitiveFlags(db: Db, o: AnomalyOptions): Promise<Draft[]> {
  const match = sensitiveMatch(o.classified);
  if (!match) return [];
  const rows = await grouped(db, o.from, o.to, match, ['day', 'system', 'department', 'resource']);
  return rows.map((row) => {
    const day = str(row._id['day'])!;
    const key = { system: str(row._id['system']), department: str(row._id['department']), resource: str(row._id['resource']) };
    const items = o.classified.get(key.resource ?? '');
    return draft('SENSITIVE_READ', {
      day, from: day, to: day, ...key, items: items ? [...items.sensitive, ...items.biometric] : [], count: row.count, threshold: 1, recordCount: row.count,
      match: { $and: [sensitiveMatch(o.classified, key.resource ?? '') ?? match, { 'records.day': day, 'records.system': key.system, 'records.department': key.department }] },
    });
  });
}

async function purposeFlags(db: Db, o: AnomalyOptions): Promise<Draft[]> {
  const { unrelatedPurposes: threshold, purposeWindowDays: windowDays } = o.thresholds;
  const start = addDays(o.from, -(windowDays - 1));
  const served = { 'records.decision': { $in: SERVED }, 'records.subject': { $ne: null }, 'records.purpose': { $ne: null } };
  // Per subject: the days and purposes it was read under, in the whole span.
  const bySubject = new Map<string, SubjectReads[]>();
  for (const row of await grouped(db, start, o.to, served, ['subject', 'purpose', 'day'])) {
    const subject = str(row._id['subject'])!;
    const read = { day: str(row._id['day'])!, purpose: str(row._id['purpose'])!, count: row.count };
    const reads = bySubject.get(subject);
    if (reads) reads.push(read);
    else bySubject.set(subject, [read]);
  }
  const out: Draft[] = [];
  for (const subject of [...bySubject.keys()].sort()) {
    const reads = bySubject.get(subject)!;
    // Themes are never more than purposes.
    if (new Set(reads.map((r) => r.purpose)).size < threshold) continue;
    const worst = worstWindow(reads, { from: o.from, to: o.to, windowDays, themeOf: o.themeOf });
    if (!worst || worst.themes.length < threshold) continue;
    out.push(draft('MANY_PURPOSES', {
      from: worst.from, to: worst.to, subject, purposes: worst.purposes, themes: worst.themes,
      count: worst.themes.length, threshold, recordCount: worst.records,
      match: { ...served, 'records.subject': subject },
    }));
  }
  return out;
}

const FINDERS: Record<AnomalyKind, (db: Db, o: AnomalyOptions) => Promise<Draft[]>> = {
  VOLUME: volumeFlags,
  OFF_HOURS: offHoursFlags,
  REPEATED_REFUSALS: refusalFlags,
  SENSITIVE_READ: sensitiveFlags,
  MANY_PURPOSES: purposeFlags,
};

const order = (a: Draft, b: Draft): number =>
  ANOMALY_KINDS.indexOf(a.kind) - ANOMALY_KINDS.indexOf(b.kind)
  || a.from.localeCompare(b.from)
  || [a.grant, a.system, a.operator, a.resource, a.subject].map((v, i) => (v ?? '').localeCompare([b.grant, b.system, b.operator, b.resource, b.subject][i] ?? '')).find((x) => x !== 0)
  || 0;

/** The anomaly flags of the days `from`..`to`, by kind, then day, then key; each with its first records. */
export async function auditAnomalies(db: Db, options: AnomalyOptions): Promise<AnomalyFlag[]> {
  const problem = rangeProblem(options.from, options.to);
  if (problem) throw new RangeError(problem);
  const limit = options.recordLimit ?? 100;
  const drafts: Draft[] = [];
  for (const kind of ANOMALY_KINDS) if (!options.kinds || options.kinds.includes(kind)) drafts.push(...(await FINDERS[kind](db, options)));
  drafts.sort(order);
  const records = await firstRecords(db, drafts, limit);
  return drafts.map(({ match: _match, ...flag }, i) => ({ ...flag, recordIds: records[i]!.map((r) => recordId(r.log, r.seq)), records: records[i]! }));
}
