/**
 * Validation of records that department systems return (ajv, with type coercion for CSV-like
 * sources). A value that breaks its item's type is not served: the item is reported as invalid.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv } from './ajv.ts';
import type { ItemType, Resource } from './types.ts';

const ITEM_SCHEMA: Record<ItemType, Record<string, unknown>> = {
  string: { type: ['string', 'null'] },
  integer: { type: ['integer', 'null'] },
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

export function createRecordValidator(resource: Resource): RecordValidator {
  const schema = {
    type: 'object',
    properties: Object.fromEntries(resource.items.map((i) => [i.name, ITEM_SCHEMA[i.type]])),
  };
  const validate: ValidateFunction = ajv.compile(schema);
  return {
    check(input) {
      const record = { ...input };
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
