/**
 * Identifiers for managed objects: `SQ-20261123-7F3A9C` for applications, `G-20261123-…` for
 * grants, `XQ-…` for demands, `CS-…` for consents. The date makes them readable and roughly
 * ordered; the random part makes them unique without a shared counter (FerretDB 1.24 does not
 * apply concurrent `$inc` of one document atomically, so a counter could hand out an id twice).
 */
import { randomBytes } from 'node:crypto';

export function newId(prefix: string, day: string): string {
  return `${prefix}-${day.replaceAll('-', '')}-${randomBytes(4).toString('hex').toUpperCase()}`;
}
