/**
 * Resolvers of the per-resource fields under Person and Enterprise: policy decision, one batched
 * upstream call per resource, record validation, obligations (drop, mask), evidence, response.
 */
import DataLoader from 'dataloader';
import type { GraphQLFieldResolver, GraphQLResolveInfo } from 'graphql';
import { UpstreamError, type UpstreamRecord } from '../../connectors/index.ts';
import { decideRead, maskValue } from '../../policies/index.ts';
import type { Resource } from '../../schema/index.ts';
import type { HubContext, ServedRecord, SubjectRef } from '../context.ts';
import { recordAccess } from '../evidence.ts';
import { hubError, refusalError, toGraphQLError } from '../errors.ts';
import { applyConsent, chargeDailyQuota } from './obligations.ts';
import { selectedFields } from './selection.ts';

export function loaderFor(ctx: HubContext, r: Resource, items: readonly string[]): DataLoader<string, UpstreamRecord | null> {
  const key = `${r.code}\u0000${items.join(',')}`;
  let loader = ctx.loaders.get(key);
  if (!loader) {
    const connector = ctx.runtime.connectors.get(r.binding.connector);
    if (!connector) throw new UpstreamError(r.binding.connector, 'connector is not configured');
    loader = new DataLoader<string, UpstreamRecord | null>(
      async (keys) => {
        try {
          const records = await connector.fetchMany({ dataset: r.binding.dataset, keyField: r.binding.keyField, keys, items });
          if (records.length !== keys.length) throw new UpstreamError(connector.name, `returned ${records.length} answers for ${keys.length} keys`);
          return records;
        } catch (error: unknown) {
          ctx.runtime.logger.warn({ requestId: ctx.requestId, connector: connector.name, resource: r.code, err: error instanceof UpstreamError ? error.message : String(error) }, 'upstream call failed');
          throw error instanceof UpstreamError ? error : new UpstreamError(connector.name, 'failed', { cause: error });
        }
      },
      { maxBatchSize: 10_000 },
    );
    ctx.loaders.set(key, loader);
  }
  return loader;
}

export function resourceResolver(r: Resource): GraphQLFieldResolver<SubjectRef, HubContext> {
  return async (subject, _args, ctx, info: GraphQLResolveInfo): Promise<ServedRecord | null> => {
    const { scope } = subject;
    const base = {
      purpose: scope.purpose.code,
      caseId: scope.caseId,
      operator: scope.operator,
      resource: r,
      subject: { type: subject.type, key: subject.key },
    };
    const asked = selectedFields(info);
    const decisionKey = `${r.code}|${subject.batchSize}|${asked.join(',')}`;
    let decision = scope.decisions.get(decisionKey);
    if (!decision) {
      decision = decideRead(scope.policy, r, asked, {
        principal: ctx.principal,
        departmentGrants: ctx.runtime.grants.forDepartment(ctx.principal.department),
        today: scope.today,
        batchSize: subject.batchSize,
      });
      scope.decisions.set(decisionKey, decision);
    }
    if (!decision.allowed) {
      const { refusal } = decision;
      await recordAccess(ctx, { ...base, action: 'read', refused: asked, grants: decision.grants, decision: 'deny', code: refusal.code, denial: refusal.denial ?? null, reason: refusal.message });
      throw refusalError(refusal, { resource: r.code });
    }
    // Consent-bound items (biometric, or marked by the grant) are served only under a consent in force.
    const consented = await applyConsent(ctx, scope, r, subject.key, decision.permits);
    const itemRefusals = [...decision.refusals, ...consented.refused];
    const refusals = new Map<string, Error>(itemRefusals.map((x) => [x.item, refusalError(x.refusal, { resource: r.code, item: x.item })]));
    const refusedNames = itemRefusals.map((x) => x.item);
    const firstRefusal = itemRefusals[0]?.refusal;
    const permits = consented.permits;
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
      throw refusalError(refusal, { resource: r.code });
    }
    const grants = charged ? [charged.grant, ...decision.grants.filter((g) => g.id !== charged.grant.id)] : decision.grants;

    let upstream: UpstreamRecord | null;
    try {
      upstream = await loaderFor(ctx, r, permits.map((p) => p.item)).load(subject.key);
    } catch (error) {
      const e = toGraphQLError(error, { resource: r.code });
      await recordAccess(ctx, { ...base, action: 'read', refused: asked, grants, decision: 'deny', code: String(e.extensions['code']), reason: 'department system unavailable' });
      throw e;
    }
    if (upstream === null) {
      await recordAccess(ctx, {
        ...base, action: 'read', refused: refusedNames, grants, decision: refusedNames.length ? 'partial' : 'allow',
        code: firstRefusal?.code ?? null, denial: firstRefusal?.denial ?? null, reason: 'no record for this subject',
      });
      return null;
    }

    const { record, problems } = ctx.runtime.validators.get(r.code)!.check(upstream);
    for (const p of problems) {
      refusals.set(p.item, hubError('UPSTREAM_INVALID', `The department system returned an invalid value for item ${p.item} of ${r.code}; it is not served and has been reported.`, { resource: r.code, item: p.item }));
    }
    if (problems.length) ctx.runtime.logger.warn({ requestId: ctx.requestId, resource: r.code, items: problems }, 'upstream record failed validation');

    const values: Record<string, unknown> = {};
    const returned: string[] = [];
    const masked: string[] = [];
    for (const permit of permits) {
      if (refusals.has(permit.item)) continue;
      const value = record[permit.item] ?? null;
      values[permit.item] = permit.access === 'masked' ? maskValue(permit.mask, value) : value;
      (permit.access === 'masked' ? masked : returned).push(permit.item);
    }
    const refused = [...refusedNames, ...problems.map((p) => p.item)];
    await recordAccess(ctx, {
      ...base,
      action: 'read',
      returned,
      masked,
      refused,
      grants,
      decision: refused.length ? 'partial' : 'allow',
      code: firstRefusal?.code ?? (problems.length ? 'UPSTREAM_INVALID' : null),
      denial: firstRefusal?.denial ?? null,
      reason: firstRefusal?.message ?? null,
      consent: consented.consent,
    });
    return { values, refusals };
  };
}

/** Item resolver of every record type: the served value, or the item's refusal as a field error. */
export const itemResolver: GraphQLFieldResolver<ServedRecord, HubContext> = (parent, _args, _ctx, info) => {
  const refusal = parent.refusals.get(info.fieldName);
  if (refusal) return refusal;
  return parent.values[info.fieldName] ?? null;
};
