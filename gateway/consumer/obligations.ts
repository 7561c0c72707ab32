/**
 * Obligations that need I/O, applied after the pure decision: the data subject's separate consent
 * (单独同意) for consent-bound items, a grant's daily quota, and the verification-attempt limit.
 * The rules themselves are pure (policies/); this file only fetches what they judge.
 */
import DataLoader from 'dataloader';
import { consentRefusal, consentRequired, type GrantRef, type GrantSummary, type ItemPermit, type Refusal } from '../../policies/index.ts';
import type { Resource } from '../../schema/index.ts';
import type { AccessScope, HubContext } from '../context.ts';
import { hashOf } from '../evidence.ts';
import { hubError } from '../errors.ts';

/**
 * Runs a look-up or counter of the hub's own database; if the database fails, nothing is served
 * (the access could not be recorded either): AUDIT_UNAVAILABLE, as for the evidence itself.
 */
export async function stateful<T>(ctx: HubContext, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    return stateFailed(ctx, what, error);
  }
}

function stateFailed(ctx: HubContext, what: string, error: unknown): never {
  ctx.runtime.logger.error({ requestId: ctx.requestId, err: error instanceof Error ? error.message : String(error) }, `${what} failed`);
  throw hubError('AUDIT_UNAVAILABLE', 'The hub cannot reach its database, so no data is served. Try again later.');
}

/** What chargeDailyQuota answers for a grant charged: one per grant (a batch charges the same grant for every subject). */
const chargedTo = new WeakMap<GrantRef, { readonly grant: GrantRef }>();

function charged(grant: GrantRef): { readonly grant: GrantRef } {
  let answer = chargedTo.get(grant);
  if (answer === undefined) chargedTo.set(grant, (answer = { grant }));
  return answer;
}

/**
 * Splits consent-bound permits by whether a consent in force covers them for this subject,
 * department and purpose. Returns the permits to serve and the refusals of the others.
 */
export async function applyConsent(
  ctx: HubContext,
  scope: AccessScope,
  r: Resource,
  subjectKey: string,
  permits: readonly ItemPermit[],
): Promise<{ permits: ItemPermit[]; refused: Array<{ item: string; refusal: Refusal }>; consent: string | null }> {
  const bound = permits.filter((p) => p.consent);
  if (bound.length === 0) return { permits: [...permits], refused: [], consent: null };
  const consent = scope.consentRef ? await stateful(ctx, 'consent look-up', () => scope.consent()) : null;
  const problem = scope.consentRef === null
    ? 'the request presents no consent reference (access(consentRef: …)).'
    : consentRefusal(consent, {
      subject: hashOf(ctx, subjectKey),
      consumer: ctx.principal.department,
      purpose: scope.purpose.code,
      items: bound.map((p) => `${r.code}.${p.item}`),
      today: scope.today,
    });
  if (problem === null) return { permits: [...permits], refused: [], consent: scope.consentRef };
  return {
    permits: permits.filter((p) => !p.consent),
    refused: bound.map((p) => ({ item: p.item, refusal: consentRequired(r, p.item, problem) })),
    consent: null,
  };
}

/** The grant charged for serving this subject, or a QUOTA_EXCEEDED refusal; undefined when no daily quota applies. */
export async function chargeDailyQuota(ctx: HubContext, scope: AccessScope, r: Resource, summary: GrantSummary | undefined, subjectKey: string): Promise<{ grant: GrantRef } | { refusal: Refusal } | undefined> {
  if (!summary || summary.daily.length === 0) return undefined;
  const key = `${r.code}|${scope.today}`;
  let loader = ctx.quotaLoaders.get(key);
  if (!loader) {
    const { quotas } = ctx.runtime;
    const day = scope.today;
    loader = new DataLoader<string, GrantRef | null>(async (subjects) => {
      // One reservation for every subject of this execution step, charged to the first grant with room.
      const out: Array<GrantRef | null> = [];
      let remaining = subjects.length;
      for (const { grant, perDay } of summary.daily) {
        if (remaining === 0) break;
        const got = await quotas.reserve(grant.id, day, remaining, perDay);
        for (let i = 0; i < got; i++) out.push(grant);
        remaining -= got;
      }
      while (out.length < subjects.length) out.push(null);
      return out;
    }, { maxBatchSize: 10_000 });
    ctx.quotaLoaders.set(key, loader);
  }
  let grant: GrantRef | null;
  try {
    grant = await loader.load(subjectKey);
  } catch (error) {
    return stateFailed(ctx, 'daily quota', error);
  }
  if (grant) return charged(grant);
  const first = summary.daily[0]!;
  const limits = summary.daily.map((d) => `${d.grant.id}: ${d.perDay}`).join(', ');
  return {
    refusal: {
      code: 'QUOTA_EXCEEDED',
      denial: 'QUOTA_EXCEEDED',
      message: `The daily quota for resource ${r.code} is used up for ${scope.today} (${limits} subjects a day). Try again tomorrow or ask ${r.provider} to raise it.`,
      grant: first.grant,
    },
  };
}
