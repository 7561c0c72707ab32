/**
 * Decisions for one resource under a compiled policy: which asked items are served clear, served
 * masked, or refused and why. Pure: the gateway does the I/O and applies the obligations.
 */
import type { Grant, Item, Resource } from '../schema/index.ts';
import { grantApplies, type CompiledPolicy } from './ability.ts';
import type { ItemPermit, ItemRefusal, Principal, Refusal, ResourceDecision } from './types.ts';

export interface DecisionContext {
  readonly principal: Principal;
  /** All grants of the caller's department (any status), to explain refusals. */
  readonly departmentGrants: readonly Grant[];
  readonly today: string;
  /** Number of subjects asked for in one call (persons batch). */
  readonly batchSize: number;
}

/** Whether the resource may be used at all under this policy; the refusal explains why not. */
function resourceRefusal(policy: CompiledPolicy, r: Resource, ctx: DecisionContext): Refusal | undefined {
  const p = policy.purpose;
  if (r.sharing === 'none') {
    return { code: 'FORBIDDEN', message: `Resource ${r.code} (${r.name}) is not shared (不予共享): ${r.legalBasis ?? 'see the catalogue'}.` };
  }
  if (p.resources && !p.resources.includes(r.code)) {
    return { code: 'FORBIDDEN', message: `Purpose ${p.code} (${p.name}) does not cover resource ${r.code}; only the resources it lists may be read.` };
  }
  if (r.sharing === 'unconditional') return undefined;
  if (policy.grantSummary.has(r.code)) return undefined;
  const applying = ctx.departmentGrants.filter((g) => g.resource === r.code && grantApplies(g, ctx.principal, p.code));
  const expired = applying.find((g) => g.status === 'expired' || (g.status === 'approved' && g.validUntil < ctx.today));
  if (expired) return { code: 'GRANT_EXPIRED', message: `Grant ${expired.id} for resource ${r.code} expired on ${expired.validUntil}. Apply to ${r.provider} for a renewal.` };
  const notYet = applying.find((g) => g.status === 'approved' && g.validFrom > ctx.today);
  if (notYet) return { code: 'FORBIDDEN', message: `Grant ${notYet.id} for resource ${r.code} is valid from ${notYet.validFrom}.` };
  const stopped = applying.find((g) => g.status === 'suspended' || g.status === 'revoked');
  if (stopped) return { code: 'FORBIDDEN', message: `Grant ${stopped.id} for resource ${r.code} is ${stopped.status}.` };
  return {
    code: 'FORBIDDEN',
    message: `Resource ${r.code} (${r.name}) is conditionally shared (有条件共享) and your department has no approved grant for it under purpose ${p.code}. Apply to ${r.provider}.`,
  };
}

function quotaRefusal(limit: number | undefined, r: Resource, batchSize: number): Refusal | undefined {
  if (limit === undefined || batchSize <= limit) return undefined;
  return { code: 'QUOTA_EXCEEDED', message: `The grant for resource ${r.code} allows at most ${limit} subjects per request; this request asks for ${batchSize}.` };
}

function itemRefusal(policy: CompiledPolicy, r: Resource, item: Item): Refusal {
  if (item.classification === 'biometric') {
    return { code: 'CONSENT_REQUIRED', message: `Item ${item.name} of ${r.code} is biometric data: it is served only under a grant with the data subject's separate consent (单独同意).` };
  }
  if (policy.ability.can('verify', r.code, item.name)) {
    return { code: 'FORBIDDEN', message: `Item ${item.name} of ${r.code} is granted for verification only: use \`verify\`.` };
  }
  return { code: 'FORBIDDEN', message: `Item ${item.name} of ${r.code} is not granted to your department for purpose ${policy.purpose.code}.` };
}

export function decideRead(policy: CompiledPolicy, r: Resource, asked: readonly string[], ctx: DecisionContext): ResourceDecision {
  const summary = policy.grantSummary.get(r.code);
  const refs = summary?.refs ?? [];
  const refusal = resourceRefusal(policy, r, ctx) ?? quotaRefusal(summary?.maxBatch, r, ctx.batchSize);
  if (refusal) return { allowed: false, resource: r.code, refusal, grants: refs };
  const permits: ItemPermit[] = [];
  const refusals: ItemRefusal[] = [];
  for (const name of asked) {
    const item = r.items.find((i) => i.name === name);
    if (!item) continue; // the GraphQL schema only offers catalogued items
    // Biometric data needs the subject's separate consent (PIPL Art. 29), whatever a grant says.
    if (item.classification === 'biometric') refusals.push({ item: name, refusal: itemRefusal(policy, r, item) });
    else if (policy.ability.can('read', r.code, name)) permits.push({ item: name, access: 'clear', mask: 'none' });
    else if (policy.ability.can('read_masked', r.code, name)) permits.push({ item: name, access: 'masked', mask: item.mask === 'none' ? 'full' : item.mask });
    else refusals.push({ item: name, refusal: itemRefusal(policy, r, item) });
  }
  return { allowed: true, resource: r.code, permits, refusals, grants: refs };
}

/** Verification (核验): each claimed item must be readable or at least verifiable. */
export function decideVerify(policy: CompiledPolicy, r: Resource, claimed: readonly string[], ctx: DecisionContext): ResourceDecision {
  const refs = policy.grantSummary.get(r.code)?.refs ?? [];
  const refusal = resourceRefusal(policy, r, ctx);
  if (refusal) return { allowed: false, resource: r.code, refusal, grants: refs };
  const permits: ItemPermit[] = [];
  const refusals: ItemRefusal[] = [];
  for (const name of claimed) {
    const item = r.items.find((i) => i.name === name);
    if (!item) {
      refusals.push({ item: name, refusal: { code: 'BAD_USER_INPUT', message: `Resource ${r.code} has no item "${name}".` } });
    } else if (item.classification !== 'biometric' && (['read', 'read_masked', 'verify'] as const).some((a) => policy.ability.can(a, r.code, name))) {
      permits.push({ item: name, access: 'verify', mask: 'none' });
    } else {
      refusals.push({ item: name, refusal: itemRefusal(policy, r, item) });
    }
  }
  return { allowed: true, resource: r.code, permits, refusals, grants: refs };
}
