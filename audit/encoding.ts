/**
 * How evidence blocks are stored, and read back whichever way they were stored.
 *
 * The compact encoding keeps a block to a handful of fields whatever its size: FerretDB's cost of
 * an insert is per field (about 170 µs of its CPU per record stored as ~20 fields, 40 µs as part
 * of one string; bench/README.md, "The encoding of evidence"), and MongoDB's BSON work shrinks
 * alike. The records are the canonical JSON lines their leaf hashes are computed from, so what is
 * stored is exactly what is signed (from 1 KiB on deflated: what inflates is those bytes, and
 * nothing else hashes to their leaves). What the database must still filter and count by is kept
 * beside them as summaries: `keys` (the searchable values, one multikey index on MongoDB) and
 * `tally` (counts for statistics), as lists or, on FerretDB, as text (SummaryForm). Anything else
 * (anomaly flags, proofs, export, verification) decodes the lines.
 */
import { deflateRawSync, inflateRawSync, constants as zlib } from 'node:zlib';
import { Binary, type Document } from 'mongodb';
import { canonicalText as canonical } from './canonical.ts';
import { recordLeaf } from './log.ts';
import { prefixedLeafHash, textLeafHash, type Hash } from './merkle.ts';
import { writeRecordLine, type AccessRecord, type LineSink, type EvidenceBlock, type StoredRecord, type Tally } from './record.ts';

/**
 * How a block's summaries are stored. `fields` (MongoDB): `keys` a list of strings, which one
 * multikey index serves, and `tally` a list of documents, which aggregation pipelines add up.
 * `text` (FerretDB): the same as two strings, `keys` joined by "\n" and `tally` as JSON text.
 * FerretDB's cost of an insert is per field and per element: a block of 19 records (the bench's
 * one-person load) cost it 0.85 ms of CPU with the lists and 0.59 ms with the texts (bench/README.md,
 * lever 21), and it answers every query by scanning anyway, so the lists buy it nothing. Readers
 * take either form on FerretDB (blocks written before are lists); on MongoDB blocks are only lists.
 */
export type SummaryForm = 'fields' | 'text';

/** Record fields auditors and data subjects search by: a block lists the distinct values of its records (`keys`). */
export const SEARCH_KEYS = ['subject', 'system', 'department', 'operator', 'resource', 'purpose', 'caseId', 'decision', 'code', 'requestId'] as const;
export type SearchKey = (typeof SEARCH_KEYS)[number];

const TALLY_FIELDS = ['day', 'department', 'resource', 'purpose', 'decision'] as const;

const LEAF_BYTES = 32;

/**
 * Lines of at least this many characters (two records or more) are stored deflated: the records of
 * one request, one system, one purpose repeat most of their text, so a block shrinks 10–20×, and
 * FerretDB's cost of an insert is mostly per byte stored (a block of 21 records: 1.55 → 0.75 ms of
 * its CPU; bench/README.md, lever 11). Below, deflating costs more than it saves (≈ 10 µs a call).
 */
export const DEFLATE_FROM = 1024;

/** Most bytes deflated lines may inflate to: what the hub writes is far below; a forged stream cannot exhaust memory. */
const MAX_INFLATED = 64 * 1024 * 1024;

/**
 * Where a block's lines are written, as UTF-8, one after another: reused from block to block
 * (encoding is synchronous), so a block's lines are never joined into one text, nor turned into
 * bytes once for each leaf hash and again for DEFLATE. Joining 200 records' lines into a string
 * and encoding it again cost more than writing them here (bench/README.md, lever 14).
 */
let scratch = Buffer.allocUnsafe(64 * 1024);
/** A scratch grown past this by an unusually large block is let go after it. */
const SCRATCH_KEPT = 4 * 1024 * 1024;

/**
 * A block's lines, written into the scratch as they come: byte 0, then line 1, "\n", line 2 … Each
 * line's leaf hash is taken from its bytes with the 0x00 prefix written in the byte before it (the
 * separator's place, restored after): SHA-256(0x00 ‖ UTF-8 of the line), exactly `lineLeaf(line)`.
 */
class BlockLines {
  /** Lines written. */
  count = 0;
  /** Characters of the lines joined by "\n" (what `DEFLATE_FROM` is measured in). */
  chars = -1;
  #end = 1;
  /** Where the next line is written (its buffer is the scratch, which may be replaced by a larger one). */
  readonly #sink: LineSink = { buf: scratch, pos: 0, chars: 0 };

  /** Writes the line of a record (recordLine's text) after the others and returns its leaf hash; throws as recordLine does. */
  addRecord(record: AccessRecord, log: string, seq: number): Hash {
    const start = this.#start();
    const sink = this.#sink;
    sink.buf = scratch;
    sink.pos = start;
    sink.chars = 0;
    while (!writeRecordLine(record, log, seq, sink)) {
      this.#grow(2 * scratch.length);
      sink.buf = scratch;
    }
    return this.#added(start, sink.pos, sink.chars);
  }

  /** Writes a line after the others and returns its leaf hash. */
  add(line: string): Hash {
    const start = this.#start();
    // A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, 4).
    const need = start + 3 * line.length;
    if (need > scratch.length) this.#grow(Math.max(need, 2 * scratch.length));
    return this.#added(start, start + scratch.write(line, start, 'utf8'), line.length);
  }

  #start(): number {
    return this.count === 0 ? 1 : this.#end + 1;
  }

  #grow(size: number): void {
    const grown = Buffer.allocUnsafe(size);
    scratch.copy(grown, 0, 0, this.#end);
    scratch = grown;
  }

  /** The line written at start…end is the next: its leaf hash, taken with the 0x00 prefix in the byte before it. */
  #added(start: number, end: number, chars: number): Hash {
    scratch[start - 1] = 0;
    const leaf = prefixedLeafHash(scratch.subarray(start - 1, end));
    if (start > 1) scratch[start - 1] = 0x0a;
    this.#end = end;
    this.count++;
    this.chars += chars + 1;
    return leaf;
  }

  /** The stored form: the lines as text below DEFLATE_FROM characters, else their bytes deflated. */
  stored(): { lines: string } | { deflated: Binary } {
    if (this.chars < DEFLATE_FROM) return { lines: this.count === 0 ? '' : scratch.toString('utf8', 1, this.#end) };
    const deflated = deflateRawSync(scratch.subarray(1, this.#end), { level: zlib.Z_BEST_SPEED });
    if (scratch.length > SCRATCH_KEPT) scratch = Buffer.allocUnsafe(64 * 1024);
    return { deflated: new Binary(deflated) };
  }
}

/**
 * The lines of a compact block as one text, stored as text or deflated; undefined for a block of
 * record documents. Deflated bytes that do not inflate (only tampering makes them) throw.
 */
export function linesOf(block: Pick<EvidenceBlock, 'lines' | 'deflated'>): string | undefined {
  if (typeof block.lines === 'string') return block.lines;
  const stored = block.deflated;
  if (stored === undefined || stored === null) return undefined;
  const bytes = stored instanceof Uint8Array ? stored : (stored as { buffer: Uint8Array }).buffer;
  return inflateRawSync(bytes, { maxOutputLength: MAX_INFLATED }).toString('utf8');
}

/** The stored lines of records (each already packed, with log and seq): canonical JSON, one per line. */
export function encodeLines(records: readonly object[]): string {
  return records.map(canonical).join('\n');
}

/** The leaf hash of a stored line: of its bytes, exactly as stored. */
export const lineLeaf = (line: string): Hash => textLeafHash(line);

/** Leaf hashes as stored in a compact block: one binary of 32-byte hashes. */
export function encodeLeaves(leaves: readonly Uint8Array[]): Binary {
  return new Binary(Buffer.concat(leaves));
}

type TallyRow = { -readonly [K in keyof Tally]: Tally[K] };

/**
 * One evidence block, compact: consecutive records of one log, with their leaf hashes. A record
 * that has no canonical JSON (a string that is not well-formed Unicode, a number that is not
 * finite) throws, or, given `unencodable`, is left out and reported there by its index: the block
 * then holds the others, numbered on from `seq` without a gap (`count` says how many).
 */
export function encodeBlock(
  log: string, seq: number, records: readonly AccessRecord[], at = new Date(), unencodable?: (index: number, error: unknown) => void, form: SummaryForm = 'fields',
): { doc: EvidenceBlock; leaves: Buffer[] } {
  let first: Date | undefined;
  let last: Date | undefined;
  const lines = new BlockLines();
  const leaves: Buffer[] = [];
  const summaries = new Summaries();
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    try {
      leaves.push(lines.addRecord(r, log, seq + leaves.length));
    } catch (error) {
      if (unencodable === undefined) throw error;
      unencodable(i, error);
      continue;
    }
    if (first === undefined || r.at < first) first = r.at;
    if (last === undefined || r.at > last) last = r.at;
    summaries.add(r);
  }
  return {
    doc: { at, first: first ?? at, last: last ?? at, count: leaves.length, log, seq, ...lines.stored(), leaves: encodeLeaves(leaves), ...summaries.stored(form) },
    leaves,
  };
}

/** A block's summaries of its records, `keys` and `tally`, in either form (SummaryForm). */
export class Summaries {
  // Distinct values per search key: a record's values are mostly the same strings as the last
  // one's (one request, one system), so sets of values cost less than sets of `key=value` texts.
  readonly #values = SEARCH_KEYS.map(() => new Set<string>());
  readonly #tally = new Map<string, TallyRow>();
  #previous: AccessRecord | undefined;
  #previousRow: TallyRow | undefined;

  add(r: AccessRecord): void {
    for (let k = 0; k < SEARCH_KEYS.length; k++) {
      const v = r[SEARCH_KEYS[k]!];
      if (v !== null && v !== undefined) this.#values[k]!.add(v);
    }
    const previous = this.#previous;
    if (this.#previousRow !== undefined && TALLY_FIELDS.every((k) => r[k] === previous![k])) this.#previousRow.n++;
    else {
      const group = TALLY_FIELDS.map((k) => r[k] ?? '').join('\u0000');
      let row = this.#tally.get(group);
      if (row) row.n++;
      else {
        row = { n: 1 };
        for (const k of TALLY_FIELDS) if (r[k] !== null && r[k] !== undefined) row[k] = r[k];
        this.#tally.set(group, row);
      }
      this.#previousRow = row;
    }
    this.#previous = r;
  }

  stored(form: SummaryForm): Pick<EvidenceBlock, 'keys' | 'tally'> {
    const keys = SEARCH_KEYS.flatMap((k, i) => [...this.#values[i]!].map((v) => `${k}=${v}`));
    const rows = [...this.#tally.values()];
    return form === 'text' ? { keys: keys.join('\n'), tally: JSON.stringify(rows) } : { keys, tally: rows };
  }
}

/** The block that takes a failed block's place: the same sequence numbers, marked aborted. */
export function fillerBlock(log: string, seq: number, count: number): { doc: EvidenceBlock; leaves: Buffer[] } {
  const at = new Date();
  const lines = new BlockLines();
  const leaves = Array.from({ length: count }, (_, i) => lines.add(canonical({ log, seq: seq + i, at, aborted: true })));
  return { doc: { at, first: at, last: at, count, log, seq, ...lines.stored(), leaves: encodeLeaves(leaves), keys: [], tally: [], aborted: true }, leaves };
}

/** A stored line that is not a JSON object (only tampering makes one): kept as text, so verification can say so. */
export interface UnreadableRecord {
  readonly unreadable: string;
  readonly log?: undefined;
  readonly seq?: undefined;
  readonly aborted?: undefined;
}

function decodeLine(line: string): StoredRecord | UnreadableRecord {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { unreadable: line };
    const record = value as Record<string, unknown>;
    if (typeof record['at'] === 'string') record['at'] = new Date(record['at']);
    return record as StoredRecord;
  } catch {
    return { unreadable: line };
  }
}

/** The fields of a block that reading its records needs (not its hashes or summaries). */
export const RECORDS_PROJECTION = { _id: 0, log: 1, seq: 1, count: 1, first: 1, last: 1, records: 1, lines: 1, deflated: 1 } as const;

/**
 * The records of a block, in order, whichever encoding it was stored in. Deflated lines that do not
 * inflate stand as one unreadable record (verification reports it, and the records it hid as missing).
 */
export function recordsOf(block: Pick<EvidenceBlock, 'lines' | 'deflated' | 'records'>): Array<StoredRecord | UnreadableRecord> {
  let text: string | undefined;
  try {
    text = linesOf(block);
  } catch (error) {
    return [{ unreadable: `deflated lines that do not inflate (${(error as Error).message})` }];
  }
  if (text !== undefined) return text === '' ? [] : text.split('\n').map(decodeLine);
  return block.records ? [...block.records] : [];
}

export const isReadable = (r: StoredRecord | UnreadableRecord): r is StoredRecord => !('unreadable' in r);

/** The records of a block that are records of an access: not a filler's, not unreadable. */
export function accessRecordsOf(block: Pick<EvidenceBlock, 'lines' | 'deflated' | 'records'>): StoredRecord[] {
  return recordsOf(block).filter((r): r is StoredRecord => isReadable(r) && !r.aborted);
}

/** The stored leaf hashes of a block, whichever encoding (base64 strings, or one binary); undefined when it has none. */
export function leavesOf(block: Pick<EvidenceBlock, 'leaves'>): Hash[] | undefined {
  const stored = block.leaves;
  if (stored === undefined || stored === null) return undefined;
  if (Array.isArray(stored)) return (stored as string[]).map((l) => Buffer.from(l, 'base64'));
  const bytes = stored instanceof Uint8Array ? stored : (stored as { buffer: Uint8Array }).buffer;
  const out: Hash[] = [];
  for (let i = 0; i + LEAF_BYTES <= bytes.length; i += LEAF_BYTES) out.push(Buffer.from(bytes.buffer, bytes.byteOffset + i, LEAF_BYTES));
  return out;
}

/** The leaf hash of a record as read back: of its canonical JSON, or of the text found where an unreadable one stands. */
export const leafOf = (record: StoredRecord | UnreadableRecord): Hash => (isReadable(record) ? recordLeaf(record) : lineLeaf(record.unreadable));

/** Records in a block, from its summary: `count`, else what it holds. */
export const sizeOf = (block: Pick<EvidenceBlock, 'count' | 'lines' | 'deflated' | 'records'>): number => block.count ?? recordsOf(block).length;

/**
 * The database filter of blocks that may hold records with every given value: a compact block
 * lists them in `keys`; a block of documents holds them in `records`.
 */
export function blocksWith(values: Partial<Record<SearchKey, string>>, form: SummaryForm = 'fields'): Document {
  const given = Object.entries(values).filter(([, v]) => v !== undefined && v !== null && v !== '') as Array<[SearchKey, string]>;
  if (given.length === 0) return {};
  const documents: Document = {};
  for (const [k, v] of given) documents[`records.${k}`] = v;
  if (form === 'fields') return { $or: [{ keys: { $all: given.map(([k, v]) => `${k}=${v}`) } }, documents] };
  // Each `field=value` a whole line of the text, or a whole element of a list (blocks written
  // before): a value holding "\n" can only make a block match that then holds no such record,
  // which the search drops when it reads the records.
  const line = (k: SearchKey, v: string) => ({ keys: { $regex: `(?:^|\n)${escapeRegExp(`${k}=${v}`)}(?:\n|$)` } });
  return { $or: [{ $and: given.map(([k, v]) => line(k, v)) }, documents] };
}

/** Text matched as it is by a regular expression (Go's RE2 in FerretDB, PCRE in MongoDB; a NUL as `\x00`, which a pattern cannot hold). */
function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&').replaceAll('\u0000', '\\x00');
}

/** A block's `keys` as a list, whichever form it was stored in. */
export function keysOf(block: Pick<EvidenceBlock, 'keys'>): readonly string[] {
  const { keys } = block;
  if (keys === undefined) return [];
  return typeof keys === 'string' ? (keys === '' ? [] : keys.split('\n')) : keys;
}

/** A block's `tally` as rows, whichever form it was stored in. */
export function tallyOf(block: Pick<EvidenceBlock, 'tally'>): readonly Tally[] {
  const { tally } = block;
  if (tally === undefined) return [];
  return typeof tally === 'string' ? (JSON.parse(tally) as Tally[]) : tally;
}
