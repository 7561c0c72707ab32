/**
 * From an application and approved terms to the grant that enforces them.
 */
import type { Application, Grant, GrantItem, GrantQuota } from '../../schema/index.ts';
import type { HubContext } from '../context.ts';
import { actor } from './guard.ts';

/** Approval terms as the API takes them (nulls for what is left as applied). */
export interface TermsInput {
  readonly items?: ReadonlyArray<{ name: string; access: GrantItem['access'] }> | null;
  readonly validFrom?: string | null;
  readonly validUntil?: string | null;
  readonly perDay?: number | null;
  readonly maxBatch?: number | null;
  readonly verifyPerDay?: number | null;
  readonly consentItems?: readonly string[] | null;
}

export function grantFromTerms(
  ctx: HubContext,
  a: Application,
  id: string,
  terms: { readonly items: readonly GrantItem[]; readonly validFrom: string; readonly validUntil: string; readonly quota: GrantQuota },
  reason: string | null,
): Grant {
  const entry = { ...actor(ctx, ctx.principal.kind === 'admin' ? 'direct' : 'approve', reason), at: new Date(), version: 1 };
  return {
    id,
    version: 1,
    resource: a.resource,
    provider: a.provider,
    consumer: a.consumer,
    ...(a.systems.length ? { systems: [...a.systems] } : {}),
    purposes: [...a.purposes],
    items: terms.items.map((i) => ({ name: i.name, access: i.access, ...(i.consent ? { consent: true } : {}) })),
    validFrom: terms.validFrom,
    validUntil: terms.validUntil,
    quota: terms.quota,
    status: 'approved',
    approvedBy: ctx.principal.id,
    ...(reason ? { reason } : {}),
    application: a.id,
    history: [entry],
  };
}
