/**
 * The management plane's gatekeeping, shared by its resolvers: the caller's CASL ability (deny by
 * default), the MongoDB filter of what it may see, the actor of history entries, and the
 * administrative evidence written for every change before it is reported done.
 */
import { subject as asSubject } from '@casl/ability';
import { rulesToCondition } from '@casl/ability/extra';
import type { Document, Filter } from 'mongodb';
import { appendAdmin } from '../../audit/index.ts';
import { managementAbility, type ManagementAbility } from '../../policies/index.ts';
import type { HistoryInput } from '../../store/index.ts';
import type { HubContext } from '../context.ts';
import { hubError } from '../errors.ts';

export type ManagedSubject = 'Application' | 'Grant' | 'Resource' | 'Demand' | 'Token' | 'Consent' | 'AuditTrail' | 'Correction' | 'QualityReport' | 'Catalogue';

const abilities = new WeakMap<HubContext, ManagementAbility>();

export function abilityOf(ctx: HubContext): ManagementAbility {
  let ability = abilities.get(ctx);
  if (!ability) {
    ability = managementAbility(ctx.principal);
    abilities.set(ctx, ability);
  }
  return ability;
}

/** Whether the caller may do `action` on this object. */
export function can(ctx: HubContext, action: string, type: ManagedSubject, object: object): boolean {
  return abilityOf(ctx).can(action, asSubject(type, { ...object }) as never);
}

/** Refuses callers with no right of this kind at all (e.g. a system token on any management operation). */
export function requireAny(ctx: HubContext, action: string, type: ManagedSubject): void {
  if (!abilityOf(ctx).can(action, type as never)) {
    throw hubError('FORBIDDEN', `A ${ctx.principal.kind} token may not ${action} ${type.toLowerCase()}s.`, { action, subject: type });
  }
}

/**
 * Loads an object for an action: NOT_FOUND when it does not exist or the caller may not see it
 * (existence is not disclosed), FORBIDDEN when it may see it but not do this.
 */
export function authorize<T extends object>(ctx: HubContext, action: string, type: ManagedSubject, object: T | null, id: string): T {
  requireAny(ctx, action, type);
  if (!object || !can(ctx, 'read', type, object)) throw hubError('NOT_FOUND', `${type} ${id} does not exist or is not visible to you.`, { id });
  if (!can(ctx, action, type, object)) {
    throw hubError('FORBIDDEN', `You may not ${action} ${type.toLowerCase()} ${id}: ${why(ctx, action, type)}`, { id, action });
  }
  return object;
}

function why(ctx: HubContext, action: string, type: ManagedSubject): string {
  if (type === 'Application' && (action === 'approve' || action === 'reject')) return 'only the providing department\'s data officer answers an application.';
  if (type === 'Application' && (action === 'withdraw' || action === 'escalate')) return 'only the applying department\'s data officer may.';
  if (type === 'Application' && action === 'resolve') return 'escalations are settled by the platform operator (共享协调).';
  if (type === 'Grant') return 'only the providing department\'s data officer changes a grant.';
  if (type === 'Correction' && action === 'answer') return 'only the providing department\'s data officer answers a correction request.';
  return `your role (${ctx.principal.kind}) does not allow it.`;
}

/** The MongoDB filter of the objects of `type` the caller may `read` (matches nothing when none). */
export function visibleFilter<T extends Document>(ctx: HubContext, type: ManagedSubject): Filter<T> {
  const ability = abilityOf(ctx);
  const query = rulesToCondition(
    ability.rulesFor('read', type as never),
    (rule) => (rule.inverted ? { $nor: [rule.conditions ?? {}] } : (rule.conditions ?? {})) as Document,
    { and: (c) => ({ $and: c }), or: (c) => ({ $or: c }), empty: () => ({}) },
  );
  return (query ?? { _id: { $exists: false } }) as Filter<T>;
}

/** The history entry's actor part for this caller. */
export function actor(ctx: HubContext, action: string, reason: string | null): HistoryInput {
  return { actor: ctx.principal.id, role: ctx.principal.kind, department: ctx.principal.department || null, action, reason };
}

/** Writes the admin-change record (who, role, when, what, before, after, why). */
export async function recordChange(ctx: HubContext, change: { action: string; target: string; before?: unknown; after?: unknown; reason?: string | null }): Promise<void> {
  await appendAdmin(ctx.runtime.db, {
    actor: ctx.principal.id,
    role: ctx.principal.kind,
    department: ctx.principal.department || null,
    action: change.action,
    target: change.target,
    before: change.before ?? null,
    after: change.after ?? null,
    reason: change.reason ?? null,
    detail: { requestId: ctx.requestId },
  });
}

/** A first/after pair checked for sanity. */
export function pageSize(first: number | null | undefined, max = 200): number {
  const n = first ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > max) throw hubError('BAD_USER_INPUT', `first must be between 1 and ${max}.`, { argument: 'first' });
  return n;
}
