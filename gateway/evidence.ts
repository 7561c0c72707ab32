/**
 * Builds access records from a request and appends them, awaited: no audit record, no data.
 */
import { subjectHash, type AccessRecord, type AttemptKey, type Decision } from '../audit/index.ts';
import type { GrantRef } from '../policies/index.ts';
import type { SubjectType } from '../schema/index.ts';
import type { HubContext } from './context.ts';
import { hubError } from './errors.ts';
import { inSpan } from './observability/tracing.ts';

export interface EvidenceInput {
  readonly action: AccessRecord['action'];
  readonly purpose: string | null;
  readonly caseId: string | null;
  readonly operator: string | null;
  readonly resource?: { readonly code: string; readonly provider: string } | undefined;
  readonly subject?: { readonly type: SubjectType; readonly key: string } | undefined;
  readonly returned?: readonly string[];
  readonly masked?: readonly string[];
  readonly refused?: readonly string[];
  readonly verified?: readonly string[];
  readonly grants?: readonly GrantRef[];
  readonly decision: Decision;
  readonly code?: string | null;
  readonly denial?: string | null;
  readonly reason?: string | null;
  readonly consent?: string | null;
  readonly attempt?: number | null;
}

export function hashOf(ctx: HubContext, key: string): string {
  let hash = ctx.subjectHashes.get(key);
  if (hash === undefined) {
    hash = subjectHash(ctx.runtime.subjectKey, key);
    ctx.subjectHashes.set(key, hash);
  }
  return hash;
}

/** Text for a record: a lone surrogate (from a client or another hub; not Unicode, so not in canonical JSON) as U+FFFD. */
const text = (value: string | null | undefined): string | null => (value === null || value === undefined ? null : value.isWellFormed() ? value : value.toWellFormed());

export function accessRecord(ctx: HubContext, e: EvidenceInput): AccessRecord {
  const at = new Date();
  // Operational count of the decision (codes and resource codes only, never the subject).
  ctx.runtime.metrics.countDecision(e.action, e.decision, e.code ?? 'none', e.resource?.code ?? 'none');
  return {
    at,
    day: ctx.runtime.today(at),
    requestId: ctx.requestId,
    action: e.action,
    system: ctx.principal.id,
    department: ctx.principal.department,
    principalKind: ctx.principal.kind,
    operator: text(e.operator),
    purpose: text(e.purpose),
    caseId: text(e.caseId),
    resource: e.resource?.code ?? null,
    provider: e.resource?.provider ?? null,
    subjectType: e.subject?.type ?? null,
    subject: e.subject ? hashOf(ctx, e.subject.key) : null,
    itemsReturned: e.returned ?? [],
    itemsMasked: e.masked ?? [],
    itemsRefused: e.refused ?? [],
    itemsVerified: e.verified ?? [],
    grants: e.grants ?? [],
    decision: e.decision,
    code: text(e.code),
    denial: text(e.denial),
    reason: text(e.reason),
    consent: text(e.consent),
    attempt: e.attempt ?? null,
    ...(ctx.onBehalfOf ? { onBehalfOf: ctx.onBehalfOf } : {}),
    // Hub tokens, by far the most common, are the default and left out (one field less to store).
    ...(ctx.credential !== 'token' ? { credential: ctx.credential } : {}),
  };
}

/** The refusal of a request whose evidence cannot be written: no data is served. */
const unavailable = (): never => {
  throw hubError('AUDIT_UNAVAILABLE', 'The audit trail cannot be written, so no data is served. Try again later.');
};

/** Runs an evidence write in its span; any failure of it is AUDIT_UNAVAILABLE (no data is served). */
async function committed<T>(ctx: HubContext, e: EvidenceInput, write: () => Promise<T>): Promise<T> {
  try {
    return await inSpan(ctx.runtime.tracing.tracer, 'hub.audit.commit', ctx.trace, { 'hub.action': e.action, 'hub.decision': e.decision, 'hub.resource': e.resource?.code ?? '' }, write);
  } catch {
    return unavailable();
  }
}

/** Appends the record and waits until it is durable; throws AUDIT_UNAVAILABLE otherwise. */
export function recordAccess(ctx: HubContext, e: EvidenceInput): Promise<void> {
  if (ctx.runtime.tracing.enabled) return committed(ctx, e, () => ctx.runtime.audit.append(accessRecord(ctx, e)));
  // No tracing: no span to run the write in (on `batch`, 200 records a request, the span's promises
  // and closures were a twentieth of what the hub allocated; bench/README.md, lever 15).
  try {
    return ctx.runtime.audit.append(accessRecord(ctx, e)).then(undefined, unavailable);
  } catch {
    return Promise.resolve().then(unavailable);
  }
}

/**
 * Appends a verification's record as its attempt (audit/attempts.ts): the record and the count of
 * the attempt are one durable write. Resolves with the attempt's number, or null when the limit is
 * reached (nothing written: the caller records the refusal); throws AUDIT_UNAVAILABLE otherwise.
 */
export function recordAttempt(ctx: HubContext, e: EvidenceInput, key: AttemptKey, day: string, limit: number): Promise<number | null> {
  // Built once, when a number is free (a request refused at the limit counts no decision of its own here).
  let record: AccessRecord | undefined;
  return committed(ctx, e, () => ctx.runtime.attempts.record(key, day, limit, (attempt) => ({ ...(record ??= accessRecord(ctx, e)), attempt })));
}
