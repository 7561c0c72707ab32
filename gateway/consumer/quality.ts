/**
 * Data quality on the consumer path, without I/O: each read counted in this process's memory
 * (validity of the values a department returned), and each served value that an open correction
 * request disputes (数据纠错) flagged for the response's `extensions.quality`.
 */
import { responsePathAsArray, type GraphQLResolveInfo } from 'graphql';
import type { Resource } from '../../schema/index.ts';
import type { HubContext } from '../context.ts';
import { hashOf } from '../evidence.ts';
import { responseKeys } from './selection.ts';

/** Counts a record the department returned: `checked` values validated, `invalid` of them withheld. */
export function countRecord(ctx: HubContext, r: Resource, day: string, checked: readonly string[], invalid: readonly string[]): void {
  ctx.runtime.quality.count(r.code, day, { records: 1, items: checked.length, invalidItems: invalid });
}

/**
 * Counts a read that got no record: two different records for the subject (UPSTREAM_INVALID), or
 * the department unavailable or too slow. Refusals by another hub and cancellations say nothing
 * about the data and are not counted.
 */
export function countFailure(ctx: HubContext, r: Resource, day: string, code: string): void {
  if (code === 'UPSTREAM_INVALID') ctx.runtime.quality.count(r.code, day, { conflicting: true });
  else if (code === 'UPSTREAM_UNAVAILABLE' || code === 'UPSTREAM_TIMEOUT') ctx.runtime.quality.count(r.code, day, { failed: true });
}

/**
 * Flags the served `items` of a subject's record that an open correction request disputes, at
 * their paths in the response. `itemPath`: whether each item is a field below this one (a record)
 * or the field itself answers about them (a verification).
 */
export function flagDisputed(ctx: HubContext, info: GraphQLResolveInfo, r: Resource, subjectKey: string, items: readonly string[], itemPath: boolean): void {
  const open = ctx.runtime.corrections;
  if (open.size === 0 || items.length === 0) return;
  const subject = hashOf(ctx, subjectKey);
  const path = responsePathAsArray(info.path);
  for (const item of items) {
    const disputed = open.disputed(r.code, subject, item);
    if (!disputed) continue;
    const keys = itemPath ? responseKeys(info).get(item) ?? [item] : [null];
    for (const key of keys) {
      ctx.disputed.push({ path: key === null ? path : [...path, key], resource: r.code, item, correction: disputed.correction });
    }
  }
}
