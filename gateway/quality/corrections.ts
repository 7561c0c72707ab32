/**
 * Correction requests (数据纠错 / 异议): a department system or data officer disputes a value it was
 * served (the access trail must show it), or the provider's officer flags a known error in its own
 * data; the provider's officer answers by a deadline in working days, `corrected` or `rejected`
 * with a reason. Every step is an admin-change record; filing and answering signal every instance,
 * which flag (or stop flagging) the value in responses within the propagation bound.
 */
import { recordId, searchAccess, type AccessRecord } from '../../audit/index.ts';
import { addWorkingDays, answerText, correctionOverdue, needsServedRecord, nextCorrectionStatus, type CorrectionOutcome } from '../../policies/index.ts';
import { creditCodeProblem, idNumberProblem, type CorrectionRequest, type CorrectionStatus, type Resource } from '../../schema/index.ts';
import {
  changeCorrection, disputedValueKey, getCorrection, insertCorrection, listCorrections, newId,
} from '../../store/index.ts';
import type { HubContext } from '../context.ts';
import { hashOf } from '../evidence.ts';
import { hubError } from '../errors.ts';
import { connection, page } from '../management/applications.ts';
import { actor, authorize, can, pageSize, recordChange, requireAny, visibleFilter } from '../management/guard.ts';

interface CorrectionInput {
  readonly resource: string;
  readonly key: string;
  readonly item: string;
  readonly note: string;
  readonly operator?: string | null;
  readonly caseId?: string | null;
  readonly requestId?: string | null;
}

const CASE_ID = /^[\p{L}\p{N}][\p{L}\p{N}_.:/-]{0,127}$/u;
const OPERATOR = /^[\p{L}\p{N}][\p{L}\p{N}_.@-]{0,63}$/u;
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;
const DAY_MS = 86_400_000;

const bad = (message: string, argument: string) => hubError('BAD_USER_INPUT', message, { argument });

function checkKey(r: Resource, key: string): void {
  const problem = r.subject === 'person' ? idNumberProblem(key) : creditCodeProblem(key);
  if (problem) {
    const what = r.subject === 'person' ? 'citizen ID number (GB 11643)' : 'unified social credit code (GB 32100)';
    throw bad(`key must be the ${what} of a subject of ${r.code}: it ${problem}.`, 'key');
  }
}

function optional(value: string | null | undefined, pattern: RegExp, argument: string, rule: string): string | null {
  const text = value?.trim() || null;
  if (text !== null && !pattern.test(text)) throw bad(`${argument} ${rule}.`, argument);
  return text;
}

/** What an admin record keeps of a request: never the subject's hash, nor the history. */
function summary(c: CorrectionRequest): Record<string, unknown> {
  const { subject: _subject, openKey: _openKey, history: _history, ...rest } = c;
  return rest;
}

/**
 * The access record that served `item` of this subject's `resource` to the requester (its system,
 * or a system of the officer's department) within `corrections.servedWithinDays`, in the response
 * `requestId` when given; null when the trail holds none.
 */
async function servedRecord(ctx: HubContext, r: Resource, subject: string, item: string, requestId: string | null): Promise<string | null> {
  const { runtime, principal } = ctx;
  const from = new Date(Date.now() - runtime.config.corrections.servedWithinDays * DAY_MS);
  const records = await searchAccess(runtime.db, {
    subject,
    resource: r.code,
    department: principal.department,
    ...(principal.kind === 'system' ? { system: principal.id } : {}),
    ...(requestId ? { requestId } : {}),
    from,
    limit: 1000,
  });
  const served = records.find((x) => x.action === 'read' && x.decision !== 'deny' && (x.itemsReturned.includes(item) || x.itemsMasked.includes(item)));
  if (!served) return null;
  const { log, seq } = served as AccessRecord & { log?: string; seq?: number };
  return log !== undefined && seq !== undefined ? recordId(log, seq) : `request ${served.requestId}`;
}

async function requestCorrection(_: unknown, { input }: { input: CorrectionInput }, ctx: HubContext): Promise<CorrectionRequest> {
  requireAny(ctx, 'report', 'Correction');
  const { runtime, principal } = ctx;
  const r = runtime.resources.get(input.resource);
  if (!r) throw bad(`Resource "${input.resource}" is not catalogued. Query \`catalogue\` for the codes.`, 'resource');
  if (!r.items.some((i) => i.name === input.item)) throw bad(`Resource ${r.code} has no item "${input.item}".`, 'item');
  checkKey(r, input.key);
  const note = input.note.trim();
  if (!note) throw bad('note must say what is wrong with the value (it is recorded and shown to the provider).', 'note');
  if (note.length > 2000) throw bad('note is longer than 2000 characters.', 'note');
  const operator = optional(input.operator, OPERATOR, 'operator', 'may hold letters, digits and _ . @ - only, at most 64 characters');
  if (principal.kind === 'system' && operator === null) throw bad('State the operator (经办人) who found the error.', 'operator');
  const caseId = optional(input.caseId, CASE_ID, 'caseId', 'may hold letters, digits and _ . : / - only, at most 128 characters');
  const requestId = optional(input.requestId, REQUEST_ID, 'requestId', 'must be the x-request-id of the response that served the value');
  if (!can(ctx, 'report', 'Correction', { consumer: principal.department, provider: r.provider, requester: principal.id })) {
    throw hubError('FORBIDDEN', 'You may file correction requests for your own department only.');
  }
  const subject = hashOf(ctx, input.key);
  let served: string | null = null;
  if (needsServedRecord(principal, r.provider)) {
    served = await servedRecord(ctx, r, subject, input.item, requestId);
    if (served === null) {
      const whom = principal.kind === 'system' ? 'your system' : `a system of your department (${principal.department})`;
      const where = requestId ? ` in the response ${requestId}` : '';
      throw hubError('FORBIDDEN', `The access trail does not show item ${input.item} of ${r.code} served to ${whom} for this subject${where} within the last ${runtime.config.corrections.servedWithinDays} days; only a value that was served can be disputed.`, { reason: 'NOT_SERVED' });
    }
  }
  const today = runtime.today();
  const id = newId('JC', today);
  const request: CorrectionRequest = {
    id,
    version: 1,
    resource: r.code,
    provider: r.provider,
    consumer: principal.department,
    requester: principal.id,
    requesterRole: principal.kind === 'system' ? 'system' : 'officer',
    subjectType: r.subject,
    subject,
    item: input.item,
    note,
    operator,
    caseId,
    servedRecord: served,
    openKey: disputedValueKey(r.code, subject, input.item),
    status: 'open',
    submittedAt: new Date(),
    deadline: addWorkingDays(runtime.calendar, today, runtime.config.corrections.deadlineWorkingDays),
    history: [{ ...actor(ctx, 'request', note), at: new Date(), version: 1 }],
  };
  const stored = await insertCorrection(runtime.db, request);
  if (!stored.inserted) {
    throw hubError('CONFLICT', `This value is already disputed by the open correction request ${stored.existing.id}; the provider answers it.`, { correction: stored.existing.id });
  }
  await recordChange(ctx, { action: 'correction.request', target: id, after: summary(request), reason: note });
  await runtime.changed('corrections');
  return request;
}

async function answerCorrection(_: unknown, args: { id: string; outcome: CorrectionOutcome; note?: string | null }, ctx: HubContext): Promise<CorrectionRequest> {
  const c = authorize(ctx, 'answer', 'Correction', await getCorrection(ctx.runtime.db, args.id), args.id);
  const answer = answerText(args.outcome, args.note);
  if (!answer.ok) throw bad(answer.message, 'note');
  const step = nextCorrectionStatus(c, args.outcome);
  if (!step.ok) throw hubError('CONFLICT', step.message, { id: c.id, status: c.status });
  const after = await changeCorrection(
    ctx.runtime.db,
    c,
    { status: step.status, answer: answer.text, answeredAt: new Date(), answeredBy: ctx.principal.id, openKey: `closed/${c.id}` },
    actor(ctx, args.outcome, answer.text),
  );
  if (!after) throw hubError('CONFLICT', `Correction request ${c.id} was answered by someone else meanwhile; reload it.`, { id: c.id });
  await recordChange(ctx, { action: `correction.${args.outcome}`, target: c.id, before: { status: c.status, version: c.version }, after: { status: after.status, version: after.version, answer: answer.text }, reason: answer.text });
  await ctx.runtime.changed('corrections');
  return after;
}

function subjectFilter(ctx: HubContext, key: string | null | undefined): string | null {
  if (!key) return null;
  if (idNumberProblem(key) && creditCodeProblem(key)) throw bad('key must be a citizen ID number (GB 11643) or a unified social credit code (GB 32100).', 'key');
  return hashOf(ctx, key);
}

export const correctionResolvers = {
  Query: {
    async correctionRequests(_: unknown, args: { status?: CorrectionStatus | null; overdue?: boolean | null; resource?: string | null; key?: string | null; first?: number; after?: string | null }, ctx: HubContext) {
      requireAny(ctx, 'read', 'Correction');
      const filter = {
        status: args.status ?? null,
        resource: args.resource ?? null,
        subject: subjectFilter(ctx, args.key),
        overdue: args.overdue === null || args.overdue === undefined ? null : { today: ctx.runtime.today(), value: args.overdue },
      };
      return connection(await page(() => listCorrections(ctx.runtime.db, visibleFilter(ctx, 'Correction'), filter, pageSize(args.first), args.after)));
    },
    async correctionRequest(_: unknown, args: { id: string }, ctx: HubContext) {
      requireAny(ctx, 'read', 'Correction');
      const c = await getCorrection(ctx.runtime.db, args.id);
      return c && can(ctx, 'read', 'Correction', c) ? c : null;
    },
  },
  Mutation: { requestCorrection, answerCorrection },
  CorrectionRequest: {
    overdue: (c: CorrectionRequest, _: unknown, ctx: HubContext) => correctionOverdue(c, ctx.runtime.today()),
    submittedAt: (c: CorrectionRequest) => c.submittedAt.toISOString(),
    answeredAt: (c: CorrectionRequest) => c.answeredAt?.toISOString() ?? null,
    history: (c: CorrectionRequest) => c.history ?? [],
  },
};
