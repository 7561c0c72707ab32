/**
 * Decisions for one resource under a compiled policy: which asked items are served clear, served
 * masked, or refused and why. Pure: the gateway does the I/O (consent look-up, quota counters) and
 * applies the obligations. Every refusal names its rule (`denial`) and, where a grant decided it,
 * that grant's id and version, for the audit record.
 */
import type { Grant, Item, Resource } from '../schema/index.ts';
import { grantApplies, grantRef, type CompiledPolicy } from './ability.ts';
import type { DenialReason, ItemPermit, ItemRefusal, Principal, Refusal, RefusalCode, ResourceDecision } from './types.ts';

export interface DecisionContext {
  readonly principal: Principal;
  /** All grants of the caller's department (any status), to explain refusals. */
  readonly departmentGrants: readonly Grant[];
  readonly today: string;
  /** Number of subjects asked for in one call (persons batch). */
  readonly batchSize: number;
}

const refusal = (code: RefusalCode, denial: DenialReason, message: string, grant?: Grant): Refusal =>
  grant ? { code, denial, message, grant: grantRef(grant) } : { code, denial, message };

/** Whether the resource may be used at all under this policy; the refusal explains why not. */
function resourceRefusal(policy: CompiledPolicy, r: Resource, ctx: DecisionContext): Refusal | undefined {
  const p = policy.purpose;
  if (r.sharing === 'none') {
    return refusal('FORBIDDEN', 'NOT_SHARED', `Resource ${r.code} (${r.name}) is not shared (不予共享): ${r.legalBasis ?? 'see the catalogue'}.`);
  }
  if (p.resources && !p.resources.includes(r.code)) {
    return refusal('FORBIDDEN', 'OUTSIDE_PURPOSE', `Purpose ${p.code} (${p.name}) does not cover resource ${r.code}; only the resources it lists may be read.`);
  }
  // 无条件共享: open to every department (its biometric items, if any, are refused one by one).
  if (r.sharing === 'unconditional' || policy.grantSummary.has(r.code)) return undefined;
  const applying = ctx.departmentGrants.filter((g) => g.resource === r.code && grantApplies(g, ctx.principal, p.code));
  // The most telling state wins: revoked, suspended, expired, not yet valid.
  const revoked = applying.find((g) => g.status === 'revoked');
  const suspended = applying.find((g) => g.status === 'suspended');
  const expired = applying.find((g) => g.status === 'expired' || (g.status === 'approved' && g.validUntil < ctx.today));
  const notYet = applying.find((g) => g.status === 'approved' && g.validFrom > ctx.today);
  if (suspended) return refusal('FORBIDDEN', 'GRANT_SUSPENDED', `Grant ${suspended.id} for resource ${r.code} is suspended by ${r.provider}; ask its data officer why.`, suspended);
  if (expired) return refusal('GRANT_EXPIRED', 'GRANT_EXPIRED', `Grant ${expired.id} for resource ${r.code} expired on ${expired.validUntil}. Apply to ${r.provider} for a renewal.`, expired);
  if (notYet) return refusal('FORBIDDEN', 'GRANT_NOT_YET_VALID', `Grant ${notYet.id} for resource ${r.code} is valid from ${notYet.validFrom}.`, notYet);
  if (revoked) return refusal('FORBIDDEN', 'GRANT_REVOKED', `Grant ${revoked.id} for resource ${r.code} was revoked by ${r.provider}. Apply again if the need remains.`, revoked);
  return refusal(
    'FORBIDDEN',
    'NO_GRANT',
    `Resource ${r.code} (${r.name}) is conditionally shared (有条件共享) and your department has no approved grant for it under purpose ${p.code}. Apply to ${r.provider}.`,
  );
}

function quotaRefusal(limit: number | undefined, r: Resource, batchSize: number, policy: CompiledPolicy): Refusal | undefined {
  if (limit === undefined || batchSize <= limit) return undefined;
  const grant = policy.grantSummary.get(r.code)?.refs[0];
  const message = `The grant for resource ${r.code} allows at most ${limit} subjects per request; this request asks for ${batchSize}.`;
  return grant ? { code: 'QUOTA_EXCEEDED', denial: 'BATCH_TOO_LARGE', message, grant } : { code: 'QUOTA_EXCEEDED', denial: 'BATCH_TOO_LARGE', message };
}

function itemRefusal(policy: CompiledPolicy, r: Resource, item: Item): Refusal {
  if (policy.ability.can('verify', r.code, item.name)) {
    return refusal('FORBIDDEN', 'VERIFY_ONLY', `Item ${item.name} of ${r.code} is granted for verification only: use \`verify\`.`);
  }
  const why = item.classification === 'biometric'
    ? ' It is biometric data: it needs a grant that names it, and the data subject\'s separate consent (单独同意).'
    : '';
  return refusal('FORBIDDEN', 'ITEM_NOT_GRANTED', `Item ${item.name} of ${r.code} is not granted to your department for purpose ${policy.purpose.code}.${why}`);
}

/** The refusal of an item that needs consent when none in force was presented. */
export function consentRefusal(r: Resource, item: string, problem: string): Refusal {
  return refusal('CONSENT_REQUIRED', 'CONSENT_MISSING', `Item ${item} of ${r.code} is served only with the data subject's separate consent (单独同意): ${problem}`);
}

export function decideRead(policy: CompiledPolicy, r: Resource, asked: readonly string[], ctx: DecisionContext): ResourceDecision {
  const summary = policy.grantSummary.get(r.code);
  const refs = summary?.refs ?? [];
  const refused = resourceRefusal(policy, r, ctx) ?? quotaRefusal(summary?.maxBatch, r, ctx.batchSize, policy);
  if (refused) return { allowed: false, resource: r.code, refusal: refused, grants: refused.grant && refs.length === 0 ? [refused.grant] : refs };
  const permits: ItemPermit[] = [];
  const refusals: ItemRefusal[] = [];
  for (const name of asked) {
    const item = r.items.find((i) => i.name === name);
    if (!item) continue; // the GraphQL schema only offers catalogued items
    // Biometric data is served only under a grant that names it, and with the subject's consent.
    const consent = item.classification === 'biometric' || (summary?.consentItems.has(name) ?? false);
    if (policy.ability.can('read', r.code, name)) permits.push({ item: name, access: 'clear', mask: 'none', consent });
    else if (policy.ability.can('read_masked', r.code, name)) permits.push({ item: name, access: 'masked', mask: item.mask === 'none' ? 'full' : item.mask, consent });
    else refusals.push({ item: name, refusal: itemRefusal(policy, r, item) });
  }
  return { allowed: true, resource: r.code, permits, refusals, grants: refs };
}

/** Verification (核验): each claimed item must be readable or at least verifiable. */
export function decideVerify(policy: CompiledPolicy, r: Resource, claimed: readonly string[], ctx: DecisionContext): ResourceDecision {
  const summary = policy.grantSummary.get(r.code);
  const refs = summary?.refs ?? [];
  const refused = resourceRefusal(policy, r, ctx);
  if (refused) return { allowed: false, resource: r.code, refusal: refused, grants: refused.grant && refs.length === 0 ? [refused.grant] : refs };
  const permits: ItemPermit[] = [];
  const refusals: ItemRefusal[] = [];
  for (const name of claimed) {
    const item = r.items.find((i) => i.name === name);
    if (!item) {
      refusals.push({ item: name, refusal: { code: 'BAD_USER_INPUT', message: `Resource ${r.code} has no item "${name}".` } });
    } else if ((['read', 'read_masked', 'verify'] as const).some((a) => policy.ability.can(a, r.code, name))) {
      const consent = item.classification === 'biometric' || (summary?.consentItems.has(name) ?? false);
      permits.push({ item: name, access: 'verify', mask: 'none', consent });
    } else {
      refusals.push({ item: name, refusal: itemRefusal(policy, r, item) });
    }
  }
  return { allowed: true, resource: r.code, permits, refusals, grants: refs };
}
