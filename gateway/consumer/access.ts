/**
 * The consumer API: `access(purpose, caseId, operator)` and what may be asked under it.
 */
import type { GraphQLFieldResolver } from 'graphql';
import { checkPurpose, decideVerify, DEFAULT_VERIFY_ATTEMPTS } from '../../policies/index.ts';
import { creditCodeProblem, idNumberProblem, type Consent, type SubjectType } from '../../schema/index.ts';
import { getConsent } from '../../store/index.ts';
import type { AccessScope, HubContext, SubjectRef } from '../context.ts';
import { hashOf, recordAccess, recordAttempt, type EvidenceInput } from '../evidence.ts';
import { hubError, refusalError } from '../errors.ts';
import { inSpan } from '../observability/tracing.ts';
import { applyConsent, chargeDailyQuota } from './obligations.ts';
import { countFailure, flagDisputed } from './quality.ts';
import { loaderFor, upstreamFailure } from './records.ts';

const CONSENT_REF = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

type Resolver<TParent, TArgs, TResult> = GraphQLFieldResolver<TParent, HubContext, TArgs, Promise<TResult> | TResult>;

type AccessArgs = { purpose?: string | null; caseId?: string | null; operator?: string | null; consentRef?: string | null; onBehalfOf?: { department: string; system: string } | null };

const PEER_CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Longest statement value a refusal's record keeps as sent (the valid ones are at most 128 characters). */
const RECORDED_MAX = 128;

/** A statement value for the record: as sent when short, else its first 128 characters and its length. */
function bounded(value: string | null): string | null {
  if (value === null || value.length <= RECORDED_MAX) return value;
  let head = value.slice(0, RECORDED_MAX);
  if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1); // never half a character
  return `${head}…(${value.length} characters)`;
}

const access: Resolver<unknown, AccessArgs, AccessScope> = async (_p, args, ctx, info) => {
  const day = ctx.runtime.today();
  const statement = { purpose: args.purpose ?? null, caseId: args.caseId ?? null, operator: args.operator ?? null };
  const refuse = async (code: string, message: string, error: Error) => {
    // The refused statement as sent, bounded: a hostile client cannot make the trail hold megabytes.
    const recorded = { purpose: bounded(statement.purpose), caseId: bounded(statement.caseId), operator: bounded(statement.operator) };
    await recordAccess(ctx, { action: 'access', ...recorded, decision: 'deny', code, reason: message });
    throw error;
  };
  if (ctx.principal.kind !== 'system') {
    const message = 'Only registered department systems may request shared records.';
    return refuse('FORBIDDEN', message, hubError('FORBIDDEN', message, {}, info));
  }
  if (![statement.purpose, statement.caseId, statement.operator].every((v) => v === null || v.isWellFormed())) {
    const message = 'purpose, caseId and operator must be Unicode text: one holds a lone surrogate (a \\uD800–\\uDFFF escape without its pair).';
    return refuse('BAD_USER_INPUT', message, hubError('BAD_USER_INPUT', message, {}, info));
  }
  if (args.onBehalfOf) {
    // 跨域通办: another region's hub names the consumer it asks for; only a registered peer hub may.
    const peer = ctx.runtime.catalogue.systems.find((s) => s.code === ctx.principal.id)?.peerHub === true;
    const { department, system } = args.onBehalfOf;
    if (!peer) {
      const message = 'onBehalfOf is for hubs of other regions registered as peer hubs (peerHub: true); your system is not one.';
      return refuse('FORBIDDEN', message, hubError('FORBIDDEN', message, { argument: 'onBehalfOf' }, info));
    }
    if (!PEER_CODE.test(department) || !PEER_CODE.test(system)) {
      const message = 'onBehalfOf names a department and a system by their codes (letters, digits, _ . -).';
      return refuse('BAD_USER_INPUT', message, hubError('BAD_USER_INPUT', message, { argument: 'onBehalfOf' }, info));
    }
    ctx.onBehalfOf = `${department}/${system}`;
  }
  // The policy decision: the purpose statement checked, the policy compiled (cached) for it.
  const { check, policy } = await inSpan(ctx.runtime.tracing.tracer, 'hub.policy.decide', ctx.trace, {}, (span) => {
    const checked = checkPurpose(ctx.runtime.purposes, ctx.principal, statement, day);
    if (!checked.ok) {
      span.setAttribute('hub.refusal', checked.refusal.code);
      return { check: checked, policy: null };
    }
    span.setAttribute('hub.purpose', checked.purpose.code);
    return { check: checked, policy: ctx.runtime.policyFor(ctx.principal, checked.purpose, day) };
  });
  if (!check.ok) return refuse(check.refusal.code, check.refusal.message, refusalError(check.refusal, {}, info));
  const consentRef = args.consentRef?.trim() || null;
  if (consentRef !== null && !CONSENT_REF.test(consentRef)) {
    const message = 'consentRef must be the reference the citizen portal returned when it recorded the consent (letters, digits, _ . : -).';
    return refuse('BAD_USER_INPUT', message, hubError('BAD_USER_INPUT', message, { argument: 'consentRef' }, info));
  }
  let consent: Promise<Consent | null> | undefined;
  return {
    consentRef,
    consent: () => (consent ??= getConsent(ctx.runtime.db, consentRef!, ctx.runtime.config.audit.deadlineMs)),
    purpose: check.purpose,
    caseId: statement.caseId!.trim(),
    operator: statement.operator!.trim(),
    policy: policy!,
    today: day,
    plans: new WeakMap(),
  };
};

function checkKey(type: SubjectType, key: string, argument: string): void {
  const problem = type === 'person' ? idNumberProblem(key) : creditCodeProblem(key);
  if (problem) {
    const what = type === 'person' ? 'citizen ID number (GB 11643)' : 'unified social credit code (GB 32100)';
    throw hubError('BAD_USER_INPUT', `${argument} is not a valid ${what}: it ${problem}.`, { argument });
  }
}

const person: Resolver<AccessScope, { idNumber: string }, SubjectRef> = (scope, { idNumber }) => {
  checkKey('person', idNumber, 'idNumber');
  return { scope, type: 'person', key: idNumber, batchSize: 1 };
};

const persons: Resolver<AccessScope, { idNumbers: string[] }, SubjectRef[]> = (scope, { idNumbers }, ctx) => {
  const max = ctx.runtime.config.limits.maxBatch;
  if (idNumbers.length > max) {
    throw hubError('BAD_USER_INPUT', `persons accepts at most ${max} ID numbers per request; got ${idNumbers.length}. Split the batch.`, { argument: 'idNumbers', max });
  }
  idNumbers.forEach((id, i) => checkKey('person', id, `idNumbers[${i}]`));
  return idNumbers.map((key) => ({ scope, type: 'person' as const, key, batchSize: idNumbers.length }));
};

const enterprise: Resolver<AccessScope, { creditCode: string }, SubjectRef> = (scope, { creditCode }) => {
  checkKey('enterprise', creditCode, 'creditCode');
  return { scope, type: 'enterprise', key: creditCode, batchSize: 1 };
};

const normalize = (v: unknown) => (v === null || v === undefined ? '' : String(v).trim());

const verify: Resolver<AccessScope, { resource: string; key: string; claims: Record<string, string | number | boolean> }, { match: boolean; mismatched: string[] }> = async (scope, args, ctx, info) => {
  const r = ctx.runtime.resources.get(args.resource);
  if (!r) throw hubError('BAD_USER_INPUT', `Resource "${args.resource}" is not catalogued. Query \`catalogue\` for the codes.`, { argument: 'resource' });
  checkKey(r.subject, args.key, 'key');
  const claimed = Object.keys(args.claims).sort();
  if (claimed.length === 0) throw hubError('BAD_USER_INPUT', 'claims must name at least one item to verify.', { argument: 'claims' });
  const base = { action: 'verify' as const, purpose: scope.purpose.code, caseId: scope.caseId, operator: scope.operator, resource: r, subject: { type: r.subject, key: args.key } };
  const decision = decideVerify(scope.policy, r, claimed, {
    principal: ctx.principal,
    departmentGrants: ctx.runtime.grants.forDepartment(ctx.principal.department),
    today: scope.today,
    batchSize: 1,
  });
  const refusal = decision.allowed ? decision.refusals[0]?.refusal : decision.refusal;
  if (refusal || !decision.allowed) {
    const refused = decision.allowed ? decision.refusals.map((x) => x.item) : claimed;
    const why = refusal ?? { code: 'FORBIDDEN' as const, message: `Resource ${r.code} may not be verified.` };
    await recordAccess(ctx, { ...base, refused, grants: decision.grants, decision: 'deny', code: why.code, denial: why.denial ?? null, reason: why.message });
    throw refusalError(why, { resource: r.code }, info);
  }
  const consented = await applyConsent(ctx, scope, r, args.key, decision.permits);
  const consentRefusal = consented.refused[0]?.refusal;
  if (consentRefusal) {
    await recordAccess(ctx, { ...base, refused: consented.refused.map((x) => x.item), grants: decision.grants, decision: 'deny', code: consentRefusal.code, denial: consentRefusal.denial ?? null, reason: consentRefusal.message });
    throw refusalError(consentRefusal, { resource: r.code }, info);
  }
  // Repeated guesses recover a value (365 tries find a birth date): attempts per (system, subject,
  // resource) per day are limited, across every instance. Each record past this point is the
  // attempt's count and carries its number (audit/attempts.ts): one durable write for both.
  const summary = scope.policy.grantSummary.get(r.code);
  const limit = summary?.verifyPerDay ?? DEFAULT_VERIFY_ATTEMPTS;
  const who = { system: ctx.principal.id, subject: hashOf(ctx, args.key), resource: r.code };
  const exceeded = async (): Promise<never> => {
    const message = `Verification of ${r.code} for this subject is limited to ${limit} attempts a day for your system; the limit is reached. Try again tomorrow.`;
    await recordAccess(ctx, { ...base, refused: claimed, grants: decision.grants, decision: 'deny', code: 'QUOTA_EXCEEDED', denial: 'VERIFY_ATTEMPTS_EXCEEDED', reason: message, attempt: limit + 1 });
    throw hubError('QUOTA_EXCEEDED', message, { resource: r.code, reason: 'VERIFY_ATTEMPTS_EXCEEDED' }, info);
  };
  /** The record of this attempt, numbered; past the limit (found by its claim), the refusal instead. */
  const attempt = async (e: EvidenceInput): Promise<void> => {
    if ((await recordAttempt(ctx, e, who, scope.today, limit)) === null) await exceeded();
  };
  if (ctx.runtime.attempts.exhausted(who, scope.today, limit)) await exceeded();
  const charged = await chargeDailyQuota(ctx, scope, r, summary, args.key);
  if (charged && 'refusal' in charged) {
    const { refusal: quota } = charged;
    await attempt({ ...base, refused: claimed, grants: decision.grants, decision: 'deny', code: quota.code, denial: quota.denial ?? null, reason: quota.message });
    throw refusalError(quota, { resource: r.code }, info);
  }
  const grants = charged ? [charged.grant, ...decision.grants.filter((g) => g.id !== charged.grant.id)] : decision.grants;
  let record;
  try {
    record = await loaderFor(ctx, scope, r, claimed).load(args.key);
  } catch (error) {
    const failed = upstreamFailure(ctx, error, r.code);
    countFailure(ctx, r, scope.today, failed.code);
    await attempt({ ...base, refused: claimed, grants, decision: 'deny', code: failed.code, reason: failed.reason });
    throw failed.error;
  }
  const mismatched = record ? claimed.filter((item) => normalize(record[item]) !== normalize(args.claims[item])) : claimed;
  await attempt({ ...base, verified: claimed, grants, decision: 'allow', reason: record ? null : 'no record for this subject', consent: consented.consent });
  // A compared value an open correction request disputes: a mismatch may be the provider's error.
  if (record) flagDisputed(ctx, info, r, args.key, claimed, false);
  return { match: record !== null && mismatched.length === 0, mismatched };
};

export const accessResolvers = {
  Query: { access },
  Access: {
    purpose: (scope: AccessScope) => scope.purpose,
    caseId: (scope: AccessScope) => scope.caseId,
    operator: (scope: AccessScope) => scope.operator,
    person,
    persons,
    enterprise,
    verify,
  },
  Person: { idNumber: (s: SubjectRef) => s.key },
  Enterprise: { creditCode: (s: SubjectRef) => s.key },
};
