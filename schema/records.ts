/**
 * Validation of records that department systems return (ajv, with type coercion for CSV-like
 * sources). A value that breaks its item's type is not served: the item is reported as invalid.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv } from './ajv.ts';
import type { ItemType, Resource } from './types.ts';

const ITEM_SCHEMA: Record<ItemType, Record<string, unknown>> = {
  string: { type: ['string', 'null'] },
  // Only integers a JSON number carries exactly: a larger one (a SQL bigint, a BSON Long) would reach
  // clients rounded, i.e. as another value, so it is withheld as invalid instead.
  integer: { type: ['integer', 'null'], minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
  number: { type: ['number', 'null'] },
  boolean: { type: ['boolean', 'null'] },
  date: { type: ['string', 'null'], format: 'date' },
};

export interface RecordProblem {
  readonly item: string;
  readonly rule: string;
}

export interface RecordValidator {
  /** Returns a coerced copy of the record and the items whose values broke their type. */
  check(record: Record<string, unknown>): { readonly record: Record<string, unknown>; readonly problems: readonly RecordProblem[] };
}

const ajv = createAjv({ coerceTypes: true, useDefaults: false });

/**
 * Values as MongoDB drivers and other sources hand them over: a BSON Date becomes an ISO date
 * (for `date` items) or timestamp, numeric BSON types become numbers, an ObjectId its hex string.
 */
function normalize(value: unknown, type: ItemType | undefined): unknown {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return value;
    return type === 'date' ? value.toISOString().slice(0, 10) : value.toISOString();
  }
  if (value !== null && typeof value === 'object' && '_bsontype' in value) {
    const bson = value as { _bsontype: string; toString(): string; toHexString?: () => string };
    if (['Decimal128', 'Long', 'Int32', 'Double'].includes(bson._bsontype)) return Number(bson.toString());
    if (bson._bsontype === 'ObjectId' && bson.toHexString) return bson.toHexString();
  }
  return value;
}

export function createRecordValidator(resource: Resource): RecordValidator {
  const schema = {
    type: 'object',
    properties: Object.fromEntries(resource.items.map((i) => [i.name, ITEM_SCHEMA[i.type]])),
  };
  const validate: ValidateFunction = ajv.compile(schema);
  const types = new Map(resource.items.map((i) => [i.name, i.type]));
  return {
    check(input) {
      const record: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(input)) record[k] = normalize(v, types.get(k));
      if (validate(record)) return { record, problems: [] };
      const problems: RecordProblem[] = [];
      for (const e of validate.errors ?? []) {
        const item = e.instancePath.split('/')[1];
        if (item && !problems.some((p) => p.item === item)) problems.push({ item, rule: e.keyword });
      }
      for (const p of problems) delete record[p.item];
      return { record, problems };
    },
  };
}
