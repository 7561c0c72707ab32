/**
 * Grants as data officers manage them: listing with history, suspend (暂停), resume and revoke
 * (撤销), each with a reason, each bumping the grant's version, each applied on every instance
 * within seconds.
 */
import { effectiveGrantStatus, nextGrantStatus, type GrantAction } from '../../policies/index.ts';
import type { Grant, GrantStatus } from '../../schema/index.ts';
import { changeGrantStatus, getGrant, listGrants } from '../../store/index.ts';
import type { HubContext } from '../context.ts';
import { hubError } from '../errors.ts';
import { connection, page, reasonOrThrow } from './applications.ts';
import { actor, authorize, can, pageSize, recordChange, requireAny, visibleFilter } from './guard.ts';

const STATE: Record<ReturnType<typeof effectiveGrantStatus>, string> = {
  active: 'active', suspended: 'suspended', revoked: 'revoked', expired: 'expired', 'not-yet-valid': 'notYetValid',
};

function changeGrant(action: GrantAction) {
  return async (_: unknown, args: { id: string; reason: string }, ctx: HubContext): Promise<Grant> => {
    const grant = authorize(ctx, action, 'Grant', await getGrant(ctx.runtime.db, args.id), args.id);
    const reason = reasonOrThrow(args.reason, `A ${action === 'suspend' ? 'suspension' : action === 'resume' ? 'resumption' : 'revocation'}`);
    const step = nextGrantStatus(grant, action, ctx.runtime.today());
    if (!step.ok) throw hubError('CONFLICT', step.message, { id: grant.id, status: grant.status });
    const after = await changeGrantStatus(ctx.runtime.db, grant, step.status, actor(ctx, action, reason));
    if (!after) throw hubError('CONFLICT', `Grant ${grant.id} was changed by someone else meanwhile; reload it and try again.`, { id: grant.id });
    await recordChange(ctx, { action: `grant.${action}`, target: grant.id, before: { status: grant.status, version: grant.version }, after: { status: after.status, version: after.version }, reason });
    await ctx.runtime.changed('grants');
    return after;
  };
}

export const grantResolvers = {
  Query: {
    async grants(_: unknown, args: { filter?: { status?: GrantStatus | null; resource?: string | null; consumer?: string | null; provider?: string | null; purpose?: string | null; application?: string | null } | null; first?: number; after?: string | null }, ctx: HubContext) {
      requireAny(ctx, 'read', 'Grant');
      return connection(await page(() => listGrants(ctx.runtime.db, visibleFilter(ctx, 'Grant'), args.filter ?? {}, pageSize(args.first), args.after)));
    },
    async grant(_: unknown, args: { id: string }, ctx: HubContext) {
      requireAny(ctx, 'read', 'Grant');
      const g = await getGrant(ctx.runtime.db, args.id);
      return g && can(ctx, 'read', 'Grant', g) ? g : null;
    },
  },
  Mutation: {
    suspendGrant: changeGrant('suspend'),
    resumeGrant: changeGrant('resume'),
    revokeGrant: changeGrant('revoke'),
  },
  Grant: {
    state: (g: Grant, _: unknown, ctx: HubContext) => STATE[effectiveGrantStatus(g, ctx.runtime.today())],
    status: (g: Grant) => (['approved', 'suspended', 'revoked', 'expired'].includes(g.status) ? g.status : 'revoked'),
    systems: (g: Grant) => g.systems ?? [],
    items: (g: Grant) => g.items.map((i) => ({ ...i, consent: i.consent ?? false })),
    // A leased block may reach past the limit; no unit above it is ever served.
    usedToday: async (g: Grant, _: unknown, ctx: HubContext) => (g.quota?.perDay ? Math.min(g.quota.perDay, await ctx.runtime.quotas.used(g.id, ctx.runtime.today())) : 0),
    history: (g: Grant) => g.history ?? [],
  },
};
