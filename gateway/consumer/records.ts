/**
 * Resolvers of the per-resource fields under Person and Enterprise: policy decision, one batched
 * upstream call per resource, record validation, obligations (drop, mask), evidence, response.
 */
import DataLoader from 'dataloader';
import type { GraphQLError, GraphQLFieldResolver, GraphQLResolveInfo } from 'graphql';
import {
  CircuitOpenError, ConflictingRecordsError, ITEM_REFUSALS, UpstreamError, UpstreamRefusal, type ItemRefusals, type UpstreamRecord,
} from '../../connectors/index.ts';
import { decideRead, maskValue, type GrantRef, type ItemPermit, type Refusal } from '../../policies/index.ts';
import type { Resource } from '../../schema/index.ts';
import type { AccessScope, HubContext, ReadPlan, ServedRecord, SubjectRef } from '../context.ts';
import { recordAccess } from '../evidence.ts';
import { hubError, refusalError, toGraphQLError, type ErrorCode } from '../errors.ts';
import { inSpan } from '../observability/tracing.ts';
import { applyConsent, chargeDailyQuota } from './obligations.ts';
import { countFailure, countRecord, flagDisputed } from './quality.ts';
import { selectedFields } from './selection.ts';

export function loaderFor(ctx: HubContext, scope: AccessScope, r: Resource, items: readonly string[]): DataLoader<string, UpstreamRecord | null> {
  // Per statement too: two access(…) fields of one document may state different purposes, and
  // another region's hub is asked under the statement's purpose.
  const key = `${r.code}\u0000${items.join(',')}\u0000${scope.purpose.code}\u0000${scope.caseId}\u0000${scope.operator}`;
  let loader = ctx.loaders.get(key);
  if (!loader) {
    const connector = ctx.runtime.connectors.get(r.binding.connector);
    if (!connector) throw new UpstreamError(r.binding.connector, 'connector is not configured');
    loader = new DataLoader<string, UpstreamRecord | null>(
      async (keys) => {
        try {
          const context = { requestId: ctx.requestId, purpose: scope.purpose.code, caseId: scope.caseId, operator: scope.operator, department: ctx.principal.department, system: ctx.principal.id };
          // The client's going away cancels the call; the request's deadline bounds it, retries included.
          const records = await inSpan(ctx.runtime.tracing.tracer, 'hub.connector.fetch', ctx.trace, { 'hub.connector': connector.name, 'hub.resource': r.code, 'hub.keys': keys.length }, () => connector.fetchMany({
            dataset: r.binding.dataset, keyField: r.binding.keyField, keys, items, context, signal: ctx.signal, deadline: ctx.deadline,
          }));
          if (records.length !== keys.length) throw new UpstreamError(connector.name, `returned ${records.length} answers for ${keys.length} keys`);
          return records;
        } catch (error: unknown) {
          if (error instanceof UpstreamRefusal) throw error; // another region's hub refused: served as that refusal
          if (error instanceof ConflictingRecordsError && error.answers.length === keys.length && !ctx.signal.aborted) {
            // Two different records for one subject: neither is served for it; the other subjects are.
            ctx.runtime.logger.warn({ requestId: ctx.requestId, connector: connector.name, resource: r.code, keys: error.conflicting.size }, 'department answered conflicting records');
            return keys.map((k, i) => (error.conflicting.has(k) ? conflictingError(r) : error.answers[i] ?? null));
          }
          if (ctx.signal.aborted) ctx.runtime.logger.info({ requestId: ctx.requestId, connector: connector.name, resource: r.code }, 'upstream call cancelled: the client closed the request');
          else ctx.runtime.logger.warn({ requestId: ctx.requestId, connector: connector.name, resource: r.code, err: error instanceof UpstreamError ? error.message : String(error) }, 'upstream call failed');
          throw error instanceof UpstreamError ? error : new UpstreamError(connector.name, 'failed', { cause: error });
        }
      },
      { maxBatchSize: 10_000 },
    );
    ctx.loaders.set(key, loader);
  }
  return loader;
}

function conflictingError(r: Resource): GraphQLError {
  return hubError('UPSTREAM_INVALID', `The department system answered two different records of ${r.code} for this subject; neither is served, and it has been reported.`, { resource: r.code });
}

/** What the audit record says was not served, by code. */
const UPSTREAM_REASONS: Readonly<Record<string, string>> = {
  UPSTREAM_TIMEOUT: 'department system did not answer in time',
  UPSTREAM_INVALID: 'department system answered two different records for this subject',
  UPSTREAM_UNAVAILABLE: 'department system unavailable',
};

/**
 * A failed department call as the client sees it and as its audit record states it: the code
 * (UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE, UPSTREAM_INVALID, another hub's refusal, or CANCELLED
 * when the client went away) and the reason.
 */
export function upstreamFailure(ctx: HubContext, error: unknown, resource: string): { error: GraphQLError; code: string; reason: string } {
  if (ctx.signal.aborted) {
    const e = hubError('CANCELLED', 'The request was closed before the department system answered; nothing was served.', { resource });
    return { error: e, code: 'CANCELLED', reason: 'the client closed the request before the department system answered' };
  }
  const e = toGraphQLError(error, { resource });
  const code = String(e.extensions['code']);
  if (error instanceof UpstreamRefusal) return { error: e, code, reason: error.message };
  if (error instanceof CircuitOpenError) return { error: e, code, reason: 'department system unavailable (circuit open: not asked)' };
  return { error: e, code, reason: UPSTREAM_REASONS[code] ?? 'department system unavailable' };
}

/** Works out a resource field's decision under its scope, and what follows from it alone (ReadPlan). */
function readPlan(ctx: HubContext, subject: SubjectRef, r: Resource, info: GraphQLResolveInfo): ReadPlan {
  const { scope } = subject;
  const asked = selectedFields(info);
  const decision = decideRead(scope.policy, r, asked, {
    principal: ctx.principal,
    departmentGrants: ctx.runtime.grants.forDepartment(ctx.principal.department),
    today: scope.today,
    batchSize: subject.batchSize,
  });
  if (!decision.allowed || decision.permits.some((p) => p.consent)) return { batchSize: subject.batchSize, asked, decision };
  const items = decision.permits.map((p) => p.item);
  return {
    batchSize: subject.batchSize,
    asked,
    decision,
    plain: {
      permits: decision.permits,
      refusals: new Map(decision.refusals.map((x) => [x.item, refusalError(x.refusal, { resource: r.code, item: x.item })])),
      refused: decision.refusals.map((x) => x.item),
      items,
    },
  };
}

const NONE: readonly string[] = [];

/** The grants of a read charged to `grant`'s daily quota: that one first (the plan keeps the list of the last grant charged). */
function chargedFirst(plan: ReadPlan, grant: GrantRef): readonly GrantRef[] {
  if (plan.charged?.grant !== grant) plan.charged = { grant, grants: [grant, ...plan.decision.grants.filter((g) => g.id !== grant.id)] };
  return plan.charged.grants;
}

export function resourceResolver(r: Resource): GraphQLFieldResolver<SubjectRef, HubContext> {
  return async (subject, _args, ctx, info: GraphQLResolveInfo): Promise<ServedRecord | null> => {
    const { scope } = subject;
    const base = {
      purpose: scope.purpose.code,
      caseId: scope.caseId,
      operator: scope.operator,
      resource: r,
      subject,
    };
    // Every subject of a list shares its field's nodes, so the decision is taken once per list (the
    // subjects' count is part of it: a plan made for another count is not used).
    let plan = scope.plans.get(info.fieldNodes);
    if (plan === undefined || plan.batchSize !== subject.batchSize) {
      plan = readPlan(ctx, subject, r, info);
      scope.plans.set(info.fieldNodes, plan);
    }
    const { asked, decision } = plan;
    if (!decision.allowed) {
      const { refusal } = decision;
      await recordAccess(ctx, { ...base, action: 'read', refused: asked, grants: decision.grants, decision: 'deny', code: refusal.code, denial: refusal.denial ?? null, reason: refusal.message });
      throw refusalError(refusal, { resource: r.code }, info);
    }
    // Consent-bound items (biometric, or marked by the grant) are served only under a consent in force.
    let refusals: ReadonlyMap<string, Error>;
    let refusedNames: readonly string[];
    let firstRefusal: Refusal | undefined;
    let permits: readonly ItemPermit[];
    let consent: string | null = null;
    if (plan.plain) {
      ({ refusals, refused: refusedNames, permits } = plan.plain);
      firstRefusal = decision.refusals[0]?.refusal;
    } else {
      const consented = await applyConsent(ctx, scope, r, subject.key, decision.permits);
      const itemRefusals = [...decision.refusals, ...consented.refused];
      refusals = new Map(itemRefusals.map((x) => [x.item, refusalError(x.refusal, { resource: r.code, item: x.item })]));
      refusedNames = itemRefusals.map((x) => x.item);
      firstRefusal = itemRefusals[0]?.refusal;
      permits = consented.permits;
      consent = consented.consent;
    }
    if (permits.length === 0) {
      await recordAccess(ctx, {
        ...base, action: 'read', refused: refusedNames, grants: decision.grants, decision: 'deny',
        code: firstRefusal?.code ?? 'FORBIDDEN', denial: firstRefusal?.denial ?? null, reason: firstRefusal?.message ?? null,
      });
      return { values: {}, refusals };
    }
    // The daily quota counts subjects served; a refused request (above) consumed nothing.
    const charged = await chargeDailyQuota(ctx, scope, r, scope.policy.grantSummary.get(r.code), subject.key);
    if (charged && 'refusal' in charged) {
      const { refusal } = charged;
      await recordAccess(ctx, { ...base, action: 'read', refused: asked, grants: decision.grants, decision: 'deny', code: refusal.code, denial: refusal.denial ?? null, reason: refusal.message });
      throw refusalError(refusal, { resource: r.code }, info);
    }
    const grants = charged ? chargedFirst(plan, charged.grant) : decision.grants;

    let upstream: UpstreamRecord | null;
    try {
      // The loader is made here, so that failing to make one (no such connector) is the read's failure, recorded.
      const loader = plan.plain ? (plan.plain.loader ??= loaderFor(ctx, scope, r, plan.plain.items)) : loaderFor(ctx, scope, r, permits.map((p) => p.item));
      upstream = await loader.load(subject.key);
    } catch (error) {
      const failed = upstreamFailure(ctx, error, r.code);
      countFailure(ctx, r, scope.today, failed.code);
      await recordAccess(ctx, { ...base, action: 'read', refused: asked, grants, decision: 'deny', code: failed.code, reason: failed.reason });
      throw failed.error;
    }
    if (upstream === null) {
      await recordAccess(ctx, {
        ...base, action: 'read', refused: refusedNames, grants, decision: refusedNames.length ? 'partial' : 'allow',
        code: firstRefusal?.code ?? null, denial: firstRefusal?.denial ?? null, reason: 'no record for this subject',
      });
      return null;
    }

    // Items the source itself refused (another region's hub): the same refusal, item by item.
    const sourceRefused: Array<{ item: string; code: string; message: string }> = [];
    // This record's own refusals join the plan's in a copy of them (the plan's serve every subject).
    let own: Map<string, Error> | undefined;
    const fromSource = (upstream as Record<symbol, ItemRefusals | undefined>)[ITEM_REFUSALS];
    if (fromSource) for (const [item, refusal] of fromSource) {
      if (!permits.some((p) => p.item === item)) continue;
      (own ??= new Map(refusals)).set(item, hubError(refusal.code as ErrorCode, refusal.message, { resource: r.code, item }));
      sourceRefused.push({ item, ...refusal });
    }
    const { record, problems } = ctx.runtime.validators.get(r.code)!.check(upstream);
    for (const p of problems) {
      (own ??= new Map(refusals)).set(p.item, hubError('UPSTREAM_INVALID', `The department system returned an invalid value for item ${p.item} of ${r.code}; it is not served and has been reported.`, { resource: r.code, item: p.item }));
    }
    if (own) refusals = own;
    if (problems.length) ctx.runtime.logger.warn({ requestId: ctx.requestId, resource: r.code, items: problems }, 'upstream record failed validation');
    // Data quality: the values the department returned for what was asked, valid or withheld.
    const permitted = plan.plain?.items ?? permits.map((p) => p.item);
    const checked = sourceRefused.length === 0 ? permitted : permitted.filter((item) => !sourceRefused.some((x) => x.item === item));
    countRecord(ctx, r, scope.today, checked, problems.length === 0 ? NONE : problems.map((p) => p.item).filter((item) => checked.includes(item)));

    const values: Record<string, unknown> = {};
    const returned: string[] = [];
    const masked: string[] = [];
    for (const permit of permits) {
      if (refusals.has(permit.item)) continue;
      const value = record[permit.item] ?? null;
      values[permit.item] = permit.access === 'masked' ? maskValue(permit.mask, value) : value;
      (permit.access === 'masked' ? masked : returned).push(permit.item);
    }
    const refused = sourceRefused.length === 0 && problems.length === 0 ? refusedNames : [...refusedNames, ...sourceRefused.map((x) => x.item), ...problems.map((p) => p.item)];
    await recordAccess(ctx, {
      ...base,
      action: 'read',
      returned,
      masked,
      refused,
      grants,
      decision: refused.length ? 'partial' : 'allow',
      code: firstRefusal?.code ?? sourceRefused[0]?.code ?? (problems.length ? 'UPSTREAM_INVALID' : null),
      denial: firstRefusal?.denial ?? null,
      reason: firstRefusal?.message ?? sourceRefused[0]?.message ?? null,
      consent,
    });
    // Served values an open correction request disputes are flagged in the response (no I/O).
    if (ctx.runtime.corrections.size > 0) flagDisputed(ctx, info, r, subject.key, [...returned, ...masked], true);
    return { values, refusals };
  };
}

/** Item resolver of every record type: the served value, or the item's refusal as a field error. */
export const itemResolver: GraphQLFieldResolver<ServedRecord, HubContext> = (parent, _args, _ctx, info) => {
  const refusal = parent.refusals.get(info.fieldName);
  if (refusal) return refusal;
  return parent.values[info.fieldName] ?? null;
};
