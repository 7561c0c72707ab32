/**
 * State transitions of sharing applications (共享申请) and grants, and the rules of an approval's
 * terms. Pure: the management API loads, asks here, and stores.
 *
 *   application: pending ─approve→ approved
 *                pending ─reject(reason)→ rejected ─escalate(reason)→ escalated ─uphold→ rejected (final)
 *                pending ─withdraw→ withdrawn                                   └direct→ approved
 *   grant:       approved ⇄ suspended (suspend / resume), approved | suspended ─revoke→ revoked (final)
 */
import type { Application, ApplicationStatus, Grant, GrantItem, GrantQuota, GrantStatus, ItemAccess, Resource } from '../schema/index.ts';
import { DEFAULT_VERIFY_ATTEMPTS } from './ability.ts';

export type ApplicationAction = 'approve' | 'reject' | 'withdraw' | 'escalate' | 'uphold' | 'direct';
export type GrantAction = 'suspend' | 'resume' | 'revoke';

export type Step<S> = { readonly ok: true; readonly status: S } | { readonly ok: false; readonly message: string };

const APPLICATION_STEPS: Record<ApplicationAction, { from: ApplicationStatus; to: ApplicationStatus; what: string }> = {
  approve: { from: 'pending', to: 'approved', what: 'approved' },
  reject: { from: 'pending', to: 'rejected', what: 'rejected' },
  withdraw: { from: 'pending', to: 'withdrawn', what: 'withdrawn' },
  escalate: { from: 'rejected', to: 'escalated', what: 'escalated' },
  uphold: { from: 'escalated', to: 'rejected', what: 'settled' },
  direct: { from: 'escalated', to: 'approved', what: 'settled' },
};

/**
 * The status an action leads to, or why it cannot be taken. Reasons (reject, escalate, uphold,
 * direct) are checked separately with `requireReason`; who may act is the management ability's.
 */
export function nextApplicationStatus(app: Pick<Application, 'id' | 'status' | 'escalation'>, action: ApplicationAction): Step<ApplicationStatus> {
  const step = APPLICATION_STEPS[action];
  // One escalation per application: the coordination group's answer (uphold or direct) is final.
  if (action === 'escalate' && app.escalation) {
    return app.escalation.resolution === 'upheld'
      ? { ok: false, message: `Application ${app.id} was already escalated and the coordination group upheld the refusal; that decision is final.` }
      : { ok: false, message: `Application ${app.id} was already escalated on ${app.escalation.at.toISOString().slice(0, 10)}; an application is escalated once.` };
  }
  if (app.status !== step.from) {
    const article = /^[aeiou]/.test(step.from) ? 'an' : 'a';
    return { ok: false, message: `Application ${app.id} is ${app.status}; only ${article} ${step.from} application can be ${step.what}.` };
  }
  return { ok: true, status: step.to };
}

export type EffectiveGrantStatus = 'active' | 'suspended' | 'revoked' | 'expired' | 'not-yet-valid';

/** What the consumer path enforces today: the status combined with the period. */
export function effectiveGrantStatus(grant: Pick<Grant, 'status' | 'validFrom' | 'validUntil'>, today: string): EffectiveGrantStatus {
  if (grant.status === 'revoked') return 'revoked';
  if (grant.status === 'expired' || grant.validUntil < today) return 'expired';
  if (grant.status === 'suspended') return 'suspended';
  // A grant is stored approved; any other status (pending, rejected) confers nothing, like a revoked one.
  if (grant.status !== 'approved') return 'revoked';
  return grant.validFrom > today ? 'not-yet-valid' : 'active';
}

/**
 * approved ⇄ suspended; approved | suspended (or expired) → revoked. An expired grant can only be
 * revoked (there is nothing left to suspend or resume); a revoked one is final.
 */
export function nextGrantStatus(grant: Pick<Grant, 'id' | 'status' | 'validUntil'>, action: GrantAction, today: string): Step<GrantStatus> {
  const expired = grant.status === 'expired' || grant.validUntil < today;
  if (grant.status === 'revoked') return { ok: false, message: `Grant ${grant.id} is revoked; a revocation is final. Apply again if the need remains.` };
  if (grant.status === 'pending' || grant.status === 'rejected') {
    return { ok: false, message: `Grant ${grant.id} is ${grant.status}; only an approved, suspended or expired grant can be changed.` };
  }
  if (action === 'revoke') return { ok: true, status: 'revoked' };
  if (expired) return { ok: false, message: `Grant ${grant.id} expired on ${grant.validUntil}; it can only be revoked.` };
  if (action === 'suspend') {
    return grant.status === 'approved' ? { ok: true, status: 'suspended' } : { ok: false, message: `Grant ${grant.id} is ${grant.status}; only an active grant can be suspended.` };
  }
  return grant.status === 'suspended' ? { ok: true, status: 'approved' } : { ok: false, message: `Grant ${grant.id} is ${grant.status}; only a suspended grant can be resumed.` };
}

/** Every step that ends or narrows someone's access states why; an empty reason is refused. */
export function requireReason(reason: string | null | undefined, what: string): { ok: true; reason: string } | { ok: false; message: string } {
  const text = reason?.trim() ?? '';
  if (text === '') return { ok: false, message: `${what} needs a reason: state why (it is recorded and shown to the other department).` };
  if (text.length > 2000) return { ok: false, message: `${what}'s reason is longer than 2000 characters.` };
  return { ok: true, reason: text };
}

/** clear ⊃ masked ⊃ verify: how much an access class reveals. */
const BREADTH: Record<ItemAccess, number> = { clear: 3, masked: 2, verify: 1 };
const isAccess = (a: string): a is ItemAccess => Object.hasOwn(BREADTH, a);
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface ApprovalTerms {
  readonly items?: readonly GrantItem[];
  readonly validFrom?: string;
  readonly validUntil?: string;
  readonly perDay?: number;
  readonly maxBatch?: number;
  readonly verifyPerDay?: number;
  readonly consentItems?: readonly string[];
}

export interface ApprovedTerms {
  readonly items: GrantItem[];
  readonly validFrom: string;
  readonly validUntil: string;
  readonly quota: GrantQuota;
}

/**
 * An approval may narrow what was applied for, never widen it: a subset of the items, each at the
 * applied access or narrower, within the applied period and batch. Biometric items always need
 * consent.
 */
export function checkApprovalTerms(
  app: Pick<Application, 'items' | 'validFrom' | 'validUntil' | 'maxBatch' | 'expectedDailyVolume'>,
  terms: ApprovalTerms,
  resource: Pick<Resource, 'code' | 'items'>,
  today: string,
): { ok: true; grant: ApprovedTerms } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const applied = new Map(app.items.map((i) => [i.name, i.access]));
  const items = terms.items ?? app.items;
  if (items.length === 0) problems.push('at least one item must be approved');
  const seen = new Set<string>();
  for (const item of items) {
    const catalogued = resource.items.find((i) => i.name === item.name);
    const asked = applied.get(item.name);
    if (!isAccess(item.access)) problems.push(`item "${item.name}" has unknown access ${JSON.stringify(item.access)} (clear, masked or verify)`);
    else if (!catalogued) problems.push(`resource ${resource.code} has no item "${item.name}"`);
    else if (!asked) problems.push(`item "${item.name}" was not applied for`);
    else if (BREADTH[item.access] > BREADTH[asked]) problems.push(`item "${item.name}" was applied for as ${asked}; it cannot be approved as ${item.access}`);
    if (seen.has(item.name)) problems.push(`item "${item.name}" is named twice`);
    seen.add(item.name);
  }
  const validFrom = terms.validFrom ?? app.validFrom;
  const validUntil = terms.validUntil ?? app.validUntil;
  const dated = [['validFrom', validFrom], ['validUntil', validUntil]] as const;
  for (const [name, d] of dated) if (!DATE.test(d)) problems.push(`${name} ${JSON.stringify(d)} is not a date (YYYY-MM-DD)`);
  // ISO dates compare as strings; anything else would compare wrongly, so stop at the format.
  if (dated.every(([, d]) => DATE.test(d))) {
    if (validFrom < app.validFrom) problems.push(`validFrom ${validFrom} is before the applied ${app.validFrom}`);
    if (validUntil > app.validUntil) problems.push(`validUntil ${validUntil} is after the applied ${app.validUntil}`);
    if (validUntil < validFrom) problems.push('validUntil is before validFrom');
    if (validUntil < today) problems.push(`validUntil ${validUntil} is already past`);
  }
  const maxBatch = terms.maxBatch ?? app.maxBatch;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) problems.push('maxBatch must be at least 1');
  else if (maxBatch > app.maxBatch) problems.push(`maxBatch ${maxBatch} is more than the applied ${app.maxBatch}`);
  const perDay = terms.perDay ?? app.expectedDailyVolume;
  if (!Number.isInteger(perDay) || perDay < 1) problems.push('perDay must be at least 1');
  const verifyPerDay = terms.verifyPerDay ?? DEFAULT_VERIFY_ATTEMPTS;
  if (!Number.isInteger(verifyPerDay) || verifyPerDay < 1 || verifyPerDay > 1000) problems.push('verifyPerDay must be between 1 and 1000');
  const consentItems = new Set(terms.consentItems ?? []);
  for (const name of consentItems) if (!items.some((i) => i.name === name)) problems.push(`consent item "${name}" is not an approved item`);
  if (problems.length > 0) return { ok: false, problems };
  const biometric = new Set(resource.items.filter((i) => i.classification === 'biometric').map((i) => i.name));
  return {
    ok: true,
    grant: {
      items: items.map((i) => ({ name: i.name, access: i.access, ...(consentItems.has(i.name) || biometric.has(i.name) ? { consent: true } : {}) })),
      validFrom,
      validUntil,
      quota: { perDay, maxBatch, verifyPerDay },
    },
  };
}
