/**
 * Helpers every connector kind shares for the batch contract of `Connector.fetchMany`:
 * distinct keys, chunking, keeping only the asked items, and answering in the caller's key order.
 *
 * Records a department returns for keys that were not asked are dropped. When it returns two
 * records for one key, the hub does not pick one: if they differ in an asked item, that key is
 * answered with neither (ConflictingRecordsError, the gateway serves UPSTREAM_INVALID for it);
 * identical copies count as one record.
 */
import { isDeepStrictEqual } from 'node:util';
import type { FetchRequest, UpstreamRecord } from './types.ts';
import { ConflictingRecordsError } from './types.ts';

/** The keys without duplicates, in first-seen order. */
export function distinctKeys(keys: readonly string[]): string[] {
  return [...new Set(keys)];
}

/** Splits `values` into consecutive chunks of at most `size` elements. */
export function chunk<T>(values: readonly T[], size: number): T[][] {
  const step = Math.max(1, Math.floor(size));
  const chunks: T[][] = [];
  for (let i = 0; i < values.length; i += step) chunks.push(values.slice(i, i + step));
  return chunks;
}

/** The fields a connector may return: the asked items plus the key field, without duplicates. */
export function returnedFields(request: Pick<FetchRequest, 'keyField' | 'items'>): string[] {
  return [...new Set([request.keyField, ...request.items])];
}

/**
 * A copy of `record` holding only `fields` the record actually has.
 * Built with `Object.fromEntries`, so a field named `__proto__` stays a plain property.
 */
export function pickFields(record: UpstreamRecord, fields: readonly string[]): UpstreamRecord {
  const entries: Array<[string, unknown]> = [];
  for (const field of fields) {
    if (Object.hasOwn(record, field)) entries.push([field, record[field]]);
  }
  return Object.fromEntries(entries) as UpstreamRecord;
}

/**
 * The key of a record as the string the caller asked with: strings as they are, finite numbers,
 * bigints and booleans in their decimal/text form; anything else (missing, null, objects) has no key.
 */
export function keyOf(record: UpstreamRecord, keyField: string): string | undefined {
  const value = record[keyField];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * Records indexed by key: `get` gives the first record of a key; `others` keeps any further
 * records of the same key, so that `answerInOrder` can tell a harmless copy from a conflict.
 */
export class KeyedRecords extends Map<string, UpstreamRecord> {
  readonly others = new Map<string, UpstreamRecord[]>();

  /** Adds a record under its key: the first one of a key, or one more for `others`. */
  add(key: string, record: UpstreamRecord): void {
    if (!this.has(key)) {
      this.set(key, record);
      return;
    }
    const more = this.others.get(key);
    if (more) more.push(record);
    else this.others.set(key, [record]);
  }
}

/** Indexes records by key field (records without a usable key are left out). */
export function indexByKey(records: Iterable<UpstreamRecord>, keyField: string): KeyedRecords {
  const index = new KeyedRecords();
  for (const record of records) {
    const key = keyOf(record, keyField);
    if (key !== undefined) index.add(key, record);
  }
  return index;
}

/**
 * Fetches `keys` in chunks of `size`, concurrently, and indexes the returned records by key
 * field. A record is kept only if its key was asked in the call that brought it.
 */
export async function fetchInChunks(
  keys: readonly string[],
  size: number,
  keyField: string,
  fetchPart: (part: string[]) => Promise<Iterable<UpstreamRecord>>,
): Promise<KeyedRecords> {
  const found = new KeyedRecords();
  await Promise.all(chunk(keys, size).map(async (part) => {
    const asked = new Set(part);
    for (const record of await fetchPart(part)) {
      const key = keyOf(record, keyField);
      if (key !== undefined && asked.has(key)) found.add(key, record);
    }
  }));
  return found;
}

/**
 * One answer per requested key, in the caller's order (duplicates answered again): the record
 * reduced to the asked items and the key field, or `null` when there is none. Each position gets
 * its own object, so a caller that masks one answer cannot change another.
 *
 * Throws ConflictingRecordsError (holding the other keys' answers) when `found` holds two records
 * of an asked key that differ in an asked item or the key field.
 */
export function answerInOrder(
  request: Pick<FetchRequest, 'keyField' | 'keys' | 'items'>,
  found: ReadonlyMap<string, UpstreamRecord>,
  connector = 'connector',
): Array<UpstreamRecord | null> {
  const fields = returnedFields(request);
  const others = found instanceof KeyedRecords && found.others.size > 0 ? found.others : undefined;
  let conflicting: Set<string> | undefined;
  const answers = request.keys.map((key) => {
    const record = found.get(key);
    if (record === undefined) return null;
    const picked = pickFields(record, fields);
    const more = others?.get(key);
    if (more?.some((other) => !isDeepStrictEqual(pickFields(other, fields), picked))) {
      (conflicting ??= new Set()).add(key);
      return null;
    }
    return picked;
  });
  if (conflicting) throw new ConflictingRecordsError(connector, answers, conflicting);
  return answers;
}

/** Whether `value` is a plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is UpstreamRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The signal the caller gave, already aborted: rethrow its reason (a cancellation is not an upstream failure). */
export function throwIfCallerAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

/** Settles like `promise`, or rejects with the signal's reason as soon as the signal aborts. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal, reason: () => unknown = () => signal.reason): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined); // abandoned: its failure must not surface as unhandled
    return Promise.reject(reason() as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reason() as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
