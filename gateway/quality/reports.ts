/**
 * A resource's quality report (数据质量报告): validity of the values its department returned (served
 * vs withheld as UPSTREAM_INVALID, per item), conflicting records and failed reads, summed over
 * every hub process's counters for a period, its freshness against the declared update frequency,
 * and its open correction requests. For the provider's data officers, the platform operator and
 * auditors.
 */
import { freshnessOf, reportPeriod, validityRate, type Freshness, type SourceChange } from '../../policies/index.ts';
import type { Resource } from '../../schema/index.ts';
import { addTotals, countOpenCorrections, emptyTotals, type QualityTotals } from '../../store/index.ts';
import { UpstreamError } from '../../connectors/index.ts';
import type { HubContext } from '../context.ts';
import { hubError } from '../errors.ts';
import { can, requireAny } from '../management/guard.ts';

const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;
/** A report never waits longer than this for a department to say when its data changed. */
const FRESHNESS_TIMEOUT_MS = 5000;

async function freshness(ctx: HubContext, r: Resource): Promise<Freshness> {
  const connector = ctx.runtime.connectors.get(r.binding.connector);
  let change: SourceChange | string | null = null;
  if (!connector) change = `connector ${r.binding.connector} is not configured`;
  else if (connector.lastChanged) {
    try {
      change = await connector.lastChanged({ dataset: r.binding.dataset, signal: AbortSignal.timeout(FRESHNESS_TIMEOUT_MS) });
    } catch (error) {
      // Connector messages name the connector and the dataset, never record data or secrets.
      change = error instanceof UpstreamError ? error.message : 'the department system did not answer';
      ctx.runtime.logger.warn({ requestId: ctx.requestId, resource: r.code, err: change }, 'freshness of a resource could not be read');
    }
  }
  return freshnessOf(r.updateFrequency, change, new Date());
}

const rate = (t: QualityTotals) => validityRate(t.items - t.invalidItems, t.invalidItems);

async function qualityReport(_: unknown, args: { resource: string; from?: string | null; to?: string | null }, ctx: HubContext) {
  requireAny(ctx, 'read', 'QualityReport');
  const { runtime } = ctx;
  const r = runtime.resources.get(args.resource);
  if (!r) throw hubError('NOT_FOUND', `Resource "${args.resource}" is not catalogued.`, { argument: 'resource' });
  if (!can(ctx, 'read', 'QualityReport', { provider: r.provider })) {
    throw hubError('FORBIDDEN', `The quality report of ${r.code} is for its provider's (${r.provider}) data officers, the platform operator and auditors.`, { resource: r.code });
  }
  const today = runtime.today();
  const period = reportPeriod(args.from, args.to, today, { defaultDays: DEFAULT_DAYS, maxDays: MAX_DAYS });
  if (!period.ok) throw hubError('BAD_USER_INPUT', period.message, { argument: period.argument });
  // This process's counts are written first; other processes' are at most quality.flushSeconds old.
  await runtime.quality.flush().catch((error: unknown) => runtime.logger.warn({ requestId: ctx.requestId, err: error }, 'data-quality counts could not be written before a report'));
  const deadline = runtime.config.audit.deadlineMs * 5;
  const [perDay, fresh, open] = await Promise.all([
    runtime.quality.perDay(r.code, period.from, period.to, deadline),
    freshness(ctx, r),
    countOpenCorrections(runtime.db, r.code, today),
  ]);
  const total = emptyTotals();
  for (const t of perDay.values()) addTotals(total, t);
  const items = [...new Set([...r.items.map((i) => i.name), ...Object.keys(total.invalidByItem)])];
  return {
    resource: r.code,
    provider: r.provider,
    from: period.from,
    to: period.to,
    records: total.records,
    invalidRecords: total.invalidRecords,
    conflictingRecords: total.conflictingRecords,
    failedReads: total.failedReads,
    items: total.items,
    validItems: total.items - total.invalidItems,
    invalidItems: total.invalidItems,
    validityRate: rate(total),
    invalidByItem: items.map((item) => ({ item, invalid: total.invalidByItem[item] ?? 0 })),
    days: [...perDay.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, t]) => ({ day, records: t.records, items: t.items, invalidItems: t.invalidItems, validityRate: rate(t) })),
    freshness: { ...fresh, lastChanged: fresh.lastChanged?.toISOString() ?? null },
    openCorrections: open.open,
    overdueCorrections: open.overdue,
  };
}

export const qualityReportResolvers = {
  Query: { qualityReport },
};
