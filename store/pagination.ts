/**
 * Cursor pagination over a MongoDB collection, ordered by one field and then `id` (unique), so a
 * page boundary is stable while objects are added. The cursor is opaque to clients (base64url JSON
 * of the last row's sort value and id) and validated when it comes back.
 */
import type { Collection, Document, Filter } from 'mongodb';

export interface Page<T> {
  readonly nodes: T[];
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
  readonly totalCount: number;
}

export class CursorError extends Error {}

type SortValue = string | number | null;

function encode(value: SortValue, id: string): string {
  return Buffer.from(JSON.stringify([value, id]), 'utf8').toString('base64url');
}

function decode(cursor: string): [SortValue, string] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[1] === 'string' && ['string', 'number'].includes(typeof parsed[0])) {
      return [parsed[0] as SortValue, parsed[1]];
    }
  } catch {
    // fall through
  }
  throw new CursorError('`after` is not a cursor this listing returned.');
}

/** Sort fields are strings or numbers (ISO dates as strings), never BSON dates. */
export async function paginate<T extends Document & { id: string }>(
  collection: Collection<T>,
  filter: Filter<T>,
  options: { sortField: keyof T & string; direction: 1 | -1; first: number; after?: string | null | undefined },
): Promise<Page<T>> {
  const { sortField, direction, first } = options;
  let pageFilter: Document = filter;
  if (options.after) {
    const [value, id] = decode(options.after);
    const beyond = direction === 1 ? '$gt' : '$lt';
    pageFilter = { $and: [filter, { $or: [{ [sortField]: { [beyond]: value } }, { [sortField]: value, id: { [beyond]: id } }] }] };
  }
  const [rows, totalCount] = await Promise.all([
    collection.find(pageFilter as Filter<T>, { projection: { _id: 0 } }).sort({ [sortField]: direction, id: direction }).limit(first + 1).toArray(),
    collection.countDocuments(filter),
  ]);
  const nodes = rows.slice(0, first) as unknown as T[];
  const last = nodes.at(-1);
  return { nodes, endCursor: last ? encode(last[sortField] as SortValue, last.id) : null, hasNextPage: rows.length > first, totalCount };
}
