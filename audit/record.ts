/**
 * Access evidence (访问留痕): one record per subject × resource read, allowed or denied, and one per
 * refused access statement. Kept apart from admin changes and operational metrics (X-Road style).
 */
import type { KeyObject } from 'node:crypto';
import { canonicalText, mayBeCanonical, memberText, stringText } from './canonical.ts';
import { hmacSha256Base64url } from './keyed-hash.ts';

export type Decision = 'allow' | 'partial' | 'deny';

export interface GrantVersion {
  readonly id: string;
  readonly version: number;
}

export interface AccessRecord {
  readonly at: Date;
  /** The calendar day of `at` in the deployment's time zone (statistics group by it in the database). */
  readonly day?: string;
  readonly requestId: string;
  /** `read` of a resource, `verify` of claims, or `access` for a refused purpose statement. */
  readonly action: 'read' | 'verify' | 'access';
  readonly system: string;
  readonly department: string;
  readonly principalKind: string;
  readonly operator: string | null;
  readonly purpose: string | null;
  readonly caseId: string | null;
  readonly resource: string | null;
  readonly provider: string | null;
  readonly subjectType: 'person' | 'enterprise' | null;
  /** Keyed hash of the subject key (HMAC-SHA-256 with the hub's subject key), never the raw ID. */
  readonly subject: string | null;
  readonly itemsReturned: readonly string[];
  readonly itemsMasked: readonly string[];
  readonly itemsRefused: readonly string[];
  /** Items compared by a verification (核验); their values are never returned. */
  readonly itemsVerified: readonly string[];
  readonly grants: readonly GrantVersion[];
  readonly decision: Decision;
  /** Refusal or failure code (FORBIDDEN, UPSTREAM_UNAVAILABLE …) when not fully allowed. */
  readonly code: string | null;
  /** The rule that refused (NO_GRANT, GRANT_SUSPENDED, CONSENT_MISSING, QUOTA_EXCEEDED …). */
  readonly denial: string | null;
  readonly reason: string | null;
  /** The consent reference under which consent-bound items were served. */
  readonly consent: string | null;
  /** The verification attempt's number that day for (system, subject, resource). */
  readonly attempt: number | null;
  /** For another region's hub: `<department>/<system>` there, the consumer it asked for (跨域通办). */
  readonly onBehalfOf?: string | null;
  /** How the caller proved who it is, when not by a hub token: a department's JWT, a client certificate, a console session. */
  readonly credential?: 'jwt' | 'certificate' | 'session';
}

/**
 * Keyed subject hash: HMAC-SHA256, base64url. Data subjects and auditors find records by computing
 * the same hash. Pass a KeyObject (`createSecretKey`) on hot paths: its pads are worked out once, a
 * raw Buffer's on every call.
 */
export function subjectHash(key: KeyObject | Buffer, subjectKey: string): string {
  return hmacSha256Base64url(key, subjectKey);
}

/** A record as stored: packed (see `packRecord`), with its log and sequence number; a filler's is `{ log, seq, at, aborted: true }`. */
export type StoredRecord = Partial<AccessRecord> & { readonly log?: string; readonly seq?: number; readonly aborted?: boolean };

/** Per block and per (day, department, resource, purpose, decision): how many records (statistics read these). */
export interface Tally {
  readonly day?: string;
  readonly department?: string;
  readonly resource?: string;
  readonly purpose?: string;
  readonly decision?: string;
  readonly n: number;
}

/**
 * One stored document of `audit_access`: the records of one group commit. Two encodings, both
 * read everywhere (audit/encoding.ts):
 * - compact (written since issue #8): `lines`, the records' canonical JSON (the bytes their leaves
 *   hash) one per line, or from 1 KiB on the same lines deflated (`deflated`); `leaves` one binary
 *   of 32-byte hashes; `keys` and `tally`, summaries the database filters and counts by;
 * - documents (written before): `records`, an array of record documents; `leaves` base64 strings.
 */
export interface EvidenceBlock {
  /** When the block was written (each record keeps its own `at`). */
  readonly at: Date;
  /** Earliest and latest `at` of its records, for time-bounded search. */
  readonly first: Date;
  readonly last: Date;
  readonly count: number;
  /** The log (origin) the block belongs to, and the sequence number of its first record. */
  readonly log?: string;
  readonly seq?: number;
  /** The records' leaf hashes (RFC 6962 over their canonical JSON), in order. */
  readonly leaves?: readonly string[] | Uint8Array | { readonly buffer: Uint8Array };
  /** A filler of a block whose write failed: its records are `{ log, seq, at, aborted: true }`. */
  readonly aborted?: boolean;
  /** Compact: the records' canonical JSON, one per line (short blocks). */
  readonly lines?: string;
  /** Compact, from 1 KiB of lines on: the same lines' UTF-8, raw DEFLATE (RFC 1951), in place of `lines`. */
  readonly deflated?: Uint8Array | { readonly buffer: Uint8Array };
  /**
   * Compact: the distinct `field=value` of the searchable fields of its records (see SEARCH_KEYS):
   * a list (MongoDB: one multikey index), or, written for FerretDB, the same joined by "\n"
   * (audit/encoding.ts, SummaryForm).
   */
  readonly keys?: readonly string[] | string;
  /** Compact: record counts for statistics; written for FerretDB, their JSON text. */
  readonly tally?: readonly Tally[] | string;
  /** Documents: the records. */
  readonly records?: readonly StoredRecord[];
}

const LIST_FIELDS = ['itemsReturned', 'itemsMasked', 'itemsRefused', 'itemsVerified', 'grants'] as const;
const NULLABLE_FIELDS = ['operator', 'purpose', 'caseId', 'resource', 'provider', 'subjectType', 'subject', 'code', 'denial', 'reason', 'consent', 'attempt'] as const;

/** The member names of a stored record in canonical (JCS) order, and whether each can be written as it is between quotes. */
interface StoredShape {
  readonly order: readonly string[];
  readonly plain: boolean;
  /** Every member is one of AccessRecord's (or `log`, `seq`): `writeRecordLine` writes it byte by byte. */
  readonly access: boolean;
}

/** AccessRecord's members, and a line's position. */
const ACCESS_NAMES: ReadonlySet<string> = new Set([
  'at', 'day', 'requestId', 'action', 'system', 'department', 'principalKind', 'operator', 'purpose', 'caseId', 'resource', 'provider', 'subjectType',
  'subject', 'itemsReturned', 'itemsMasked', 'itemsRefused', 'itemsVerified', 'grants', 'decision', 'code', 'denial', 'reason', 'consent', 'attempt',
  'onBehalfOf', 'credential', 'log', 'seq',
] satisfies Array<keyof AccessRecord | 'log' | 'seq'>);

/** A member name JSON.stringify writes as it is, that an object literal takes as a member (not `__proto__`) and JCS orders as sort() does. */
const PLAIN_NAME = /^[A-Za-z_$][\w$]*$/;

/** Stored shapes by the names a record came with: records share a few shapes. */
const storedShapes = new Map<string, StoredShape>();

/** The last shape asked for: nearly every record has the one the last had, and comparing names is cheaper than joining them. */
let last: { names: readonly string[]; withPosition: boolean; shape: StoredShape } | undefined;

function storedShape(names: readonly string[], withPosition: boolean): StoredShape {
  if (last !== undefined && last.withPosition === withPosition && last.names.length === names.length && names.every((k, i) => k === last!.names[i])) return last.shape;
  const key = `${withPosition ? '+' : '-'}${names.join('\u0000')}`;
  let shape = storedShapes.get(key);
  if (shape === undefined) {
    const order = (withPosition ? [...names.filter((k) => k !== 'log' && k !== 'seq'), 'log', 'seq'] : [...names]).sort();
    shape = { order, plain: order.every((k) => PLAIN_NAME.test(k) && k !== '__proto__'), access: order.every((k) => ACCESS_NAMES.has(k)) };
    if (storedShapes.size >= 64) storedShapes.clear();
    storedShapes.set(key, shape);
  }
  last = { names, withPosition, shape };
  return shape;
}

/**
 * Stored form: empty lists and nulls left out (a quarter less to write); `unpackRecord` restores
 * them. With `log` and `seq`, the record as a line of that log stores it. Members come out in
 * canonical order, so canonical JSON is one JSON.stringify (audit/canonical.ts).
 */
export function packRecord(record: AccessRecord): Partial<AccessRecord>;
export function packRecord(record: AccessRecord, log: string, seq: number): StoredRecord;
export function packRecord(record: AccessRecord, log?: string, seq?: number): StoredRecord {
  const source = record as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of storedShape(Object.keys(record), log !== undefined).order) {
    const v = log === undefined ? source[k] : k === 'log' ? log : k === 'seq' ? seq : source[k];
    if (v === null || (Array.isArray(v) && v.length === 0)) continue;
    // A line holds a time as JSON writes it; the string now saves JSON.stringify its slow path.
    out[k] = log !== undefined && v instanceof Date ? (v.toJSON() ?? v) : v;
  }
  return out as StoredRecord;
}

/**
 * The line of log `log` a record is stored as at `seq`: the canonical JSON of `packRecord(record,
 * log, seq)`, written member by member without the packed copy, a string with nothing to escape
 * quoted as it is (on `batch`, 200 records a query, this was a fifth of the hub's CPU). Whatever
 * the direct writing is not sure of (a member name or value JSON.stringify would not write as JCS
 * does, a possible lone surrogate) goes the reference way. Throws as canonicalText does.
 */
export function recordLine(record: AccessRecord, log: string, seq: number): string {
  const shape = storedShape(Object.keys(record), true);
  if (shape.plain) {
    const source = record as unknown as Record<string, unknown>;
    let line = '';
    let direct = true;
    for (const k of shape.order) {
      const v = k === 'log' ? log : k === 'seq' ? seq : source[k];
      if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) continue;
      const text = memberText(v);
      if (text === undefined) {
        direct = false;
        break;
      }
      line += `${line === '' ? '{"' : ',"'}${k}":${text}`;
    }
    line = line === '' ? '{}' : `${line}}`;
    if (direct && mayBeCanonical(line)) return line;
  }
  return canonicalText(packRecord(record, log, seq));
}

/**
 * AccessRecord's members (and a line's position) in canonical (JCS) order, each with a function
 * that reads it by name: each function's lookup sees one kind of record, where a lookup by a name
 * that changes from record to record (a loop over names) is V8's slowest (megamorphic).
 */
const ACCESS_MEMBERS: ReadonlyArray<readonly [string, (r: AccessRecord, log: string, seq: number) => unknown]> = [
  ['action', (r) => r.action], ['at', (r) => r.at], ['attempt', (r) => r.attempt], ['caseId', (r) => r.caseId], ['code', (r) => r.code],
  ['consent', (r) => r.consent], ['credential', (r) => r.credential], ['day', (r) => r.day], ['decision', (r) => r.decision], ['denial', (r) => r.denial],
  ['department', (r) => r.department], ['grants', (r) => r.grants], ['itemsMasked', (r) => r.itemsMasked], ['itemsRefused', (r) => r.itemsRefused],
  ['itemsReturned', (r) => r.itemsReturned], ['itemsVerified', (r) => r.itemsVerified], ['log', (_, log) => log], ['onBehalfOf', (r) => r.onBehalfOf],
  ['operator', (r) => r.operator], ['principalKind', (r) => r.principalKind], ['provider', (r) => r.provider], ['purpose', (r) => r.purpose],
  ['reason', (r) => r.reason], ['requestId', (r) => r.requestId], ['resource', (r) => r.resource], ['seq', (_, _log, seq) => seq],
  ['subject', (r) => r.subject], ['subjectType', (r) => r.subjectType], ['system', (r) => r.system],
];

/**
 * Where `writeRecordLine` writes: UTF-8 into `buf` from `pos`, which it moves past what it wrote,
 * and `chars`, which it raises by the UTF-16 length of the text written (what DEFLATE_FROM counts).
 */
export interface LineSink {
  buf: Buffer;
  pos: number;
  chars: number;
}

/** The outcomes of writing a line's part into a sink. */
const WRITTEN = 1;
const NO_ROOM = 0;
/** The direct writer is not sure of a value: the line goes the reference way (recordLine). */
const UNSURE = -1;

/** Each member's opening as bytes: `{"name":` when it is the first written, `,"name":` after one. */
const OPENINGS: ReadonlyArray<readonly [Buffer, Buffer]> = ACCESS_MEMBERS.map(([name]) => [Buffer.from(`{"${name}":`), Buffer.from(`,"${name}":`)]);

function putBytes(sink: LineSink, bytes: Buffer): number {
  if (sink.pos + bytes.length > sink.buf.length) return NO_ROOM;
  sink.buf.set(bytes, sink.pos);
  sink.pos += bytes.length;
  sink.chars += bytes.length;
  return WRITTEN;
}

/** ASCII text (digits, a time) as it is. */
function putAscii(sink: LineSink, text: string): number {
  const { buf } = sink;
  let pos = sink.pos;
  if (pos + text.length > buf.length) return NO_ROOM;
  for (let i = 0; i < text.length; i++) buf[pos++] = text.charCodeAt(i);
  sink.pos = pos;
  sink.chars += text.length;
  return WRITTEN;
}

/**
 * A string's JSON text: quoted byte by byte while every character is printable ASCII other than `"`
 * and `\`; otherwise its stringText as UTF-8 (UNSURE when that is not canonical: a lone surrogate).
 */
function putString(sink: LineSink, s: string): number {
  const { buf } = sink;
  let pos = sink.pos;
  if (pos + s.length + 2 > buf.length) return NO_ROOM;
  buf[pos++] = 0x22;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) return putText(sink, s);
    buf[pos++] = c;
  }
  buf[pos++] = 0x22;
  sink.pos = pos;
  sink.chars += s.length + 2;
  return WRITTEN;
}

function putText(sink: LineSink, s: string): number {
  const text = stringText(s);
  if (!mayBeCanonical(text)) return UNSURE;
  // A UTF-16 code unit is at most 3 bytes of UTF-8.
  if (sink.pos + 3 * text.length > sink.buf.length) return NO_ROOM;
  sink.pos += sink.buf.write(text, sink.pos, 'utf8');
  sink.chars += text.length;
  return WRITTEN;
}

const ID = Buffer.from('{"id":');
const VERSION = Buffer.from(',"version":');
const OPEN_LIST = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE_LIST = Buffer.from(']');
const CLOSE_OBJECT = Buffer.from('}');
const EMPTY_OBJECT = Buffer.from('{}');

/** A grant `{"id":…,"version":…}`, when it is a plain object of exactly those two members (the hub's GrantVersion); else UNSURE. */
function putGrant(sink: LineSink, g: unknown): number {
  if (typeof g !== 'object' || g === null || Object.getPrototypeOf(g) !== Object.prototype) return UNSURE;
  const names = Object.keys(g);
  if (names.length !== 2 || names[0] !== 'id' || names[1] !== 'version') return UNSURE;
  const { id, version } = g as GrantVersion;
  if (typeof id !== 'string' || typeof version !== 'number' || !Number.isFinite(version)) return UNSURE;
  let done = putBytes(sink, ID);
  if (done === WRITTEN) done = putString(sink, id);
  if (done === WRITTEN) done = putBytes(sink, VERSION);
  if (done === WRITTEN) done = putAscii(sink, `${version}`);
  return done === WRITTEN ? putBytes(sink, CLOSE_OBJECT) : done;
}

/** A member's value: a string, a finite number, a valid date, a list of strings or grants; anything else UNSURE. */
function putValue(sink: LineSink, v: unknown): number {
  if (typeof v === 'string') return putString(sink, v);
  if (typeof v === 'number') return Number.isFinite(v) ? putAscii(sink, `${v}`) : UNSURE;
  if (Array.isArray(v)) {
    let done = putBytes(sink, OPEN_LIST);
    for (let i = 0; i < v.length && done === WRITTEN; i++) {
      const e: unknown = v[i];
      if (i > 0) done = putBytes(sink, COMMA);
      if (done === WRITTEN) done = typeof e === 'string' ? putString(sink, e) : putGrant(sink, e);
    }
    return done === WRITTEN ? putBytes(sink, CLOSE_LIST) : done;
  }
  if (v instanceof Date) return v.toJSON === Date.prototype.toJSON && !Number.isNaN(v.getTime()) ? putAscii(sink, `"${v.toISOString()}"`) : UNSURE;
  return UNSURE;
}

/** The line of a record of AccessRecord's members, members in canonical order, nulls and empty lists left out. */
function putAccessLine(sink: LineSink, r: AccessRecord, log: string, seq: number): number {
  let first = true;
  for (let m = 0; m < ACCESS_MEMBERS.length; m++) {
    const v = ACCESS_MEMBERS[m]![1](r, log, seq);
    if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    let done = putBytes(sink, OPENINGS[m]![first ? 0 : 1]);
    if (done === WRITTEN) done = putValue(sink, v);
    if (done !== WRITTEN) return done;
    first = false;
  }
  return putBytes(sink, first ? EMPTY_OBJECT : CLOSE_OBJECT);
}

/**
 * Writes the line of log `log` a record is stored as at `seq` (recordLine's text) into the sink, as
 * UTF-8: the hub's own records byte by byte, with no text of the line made (its parts were a fifth
 * of what the hub allocated on `batch`; bench/README.md, lever 15), anything else as recordLine's
 * text. False when the sink's buffer has no room for it (nothing is kept of what was written:
 * grow it and call again). Throws as recordLine does.
 */
export function writeRecordLine(record: AccessRecord, log: string, seq: number, sink: LineSink): boolean {
  const { pos, chars } = sink;
  if (storedShape(Object.keys(record), true).access) {
    const done = putAccessLine(sink, record, log, seq);
    if (done === WRITTEN) return true;
    sink.pos = pos;
    sink.chars = chars;
    if (done === NO_ROOM) return false;
  }
  const line = recordLine(record, log, seq);
  if (sink.pos + 3 * line.length > sink.buf.length) return false;
  sink.pos += sink.buf.write(line, sink.pos, 'utf8');
  sink.chars += line.length;
  return true;
}

export function unpackRecord(stored: Partial<AccessRecord>): AccessRecord {
  const out: Record<string, unknown> = { ...stored };
  for (const k of LIST_FIELDS) out[k] ??= [];
  for (const k of NULLABLE_FIELDS) out[k] ??= null;
  return out as unknown as AccessRecord;
}
