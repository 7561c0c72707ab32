/**
 * Sharing applications (共享申请 → 审核 → 授权): apply, withdraw, approve (possibly narrowed),
 * reject (with reasons), escalate to the coordination group, and the operator's resolution.
 */
import type { Application, GrantItem, Resource } from '../../schema/index.ts';
import {
  addWorkingDays, checkApprovalTerms, isOverdue, nextApplicationStatus, requireReason, type ApplicationAction,
} from '../../policies/index.ts';
import {
  changeApplication, getApplication, getGrant, insertApplication, insertGrant, listApplications, newId, CursorError, type ApplicationFilter,
} from '../../store/index.ts';
import type { HubContext } from '../context.ts';
import { hubError } from '../errors.ts';
import { actor, authorize, can, pageSize, recordChange, requireAny, visibleFilter } from './guard.ts';
import { grantFromTerms, type TermsInput } from './terms.ts';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

interface ApplyInput {
  readonly resource: string;
  readonly items: ReadonlyArray<{ name: string; access: GrantItem['access'] }>;
  readonly purposes: readonly string[];
  readonly systems?: readonly string[] | null;
  readonly validFrom: string;
  readonly validUntil: string;
  readonly expectedDailyVolume: number;
  readonly maxBatch: number;
  readonly reason: string;
}

const bad = (message: string, extra: Record<string, unknown> = {}) => hubError('BAD_USER_INPUT', message, extra);

export function reasonOrThrow(reason: string | null | undefined, what: string): string {
  const checked = requireReason(reason, what);
  if (!checked.ok) throw bad(checked.message, { argument: 'reason' });
  return checked.reason;
}

function validDate(value: string, name: string): string {
  if (!ISO_DATE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)) || new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value) {
    throw bad(`${name} must be a date YYYY-MM-DD, got "${value.slice(0, 40)}".`, { argument: name });
  }
  return value;
}

function checkApply(ctx: HubContext, input: ApplyInput, r: Resource, today: string): void {
  const consumer = ctx.principal.department;
  const problems: string[] = [];
  if (r.provider === consumer) problems.push(`resource ${r.code} is your own department's; no application is needed`);
  if (input.items.length === 0) problems.push('items must name at least one item');
  const seen = new Set<string>();
  for (const item of input.items) {
    if (!r.items.some((i) => i.name === item.name)) problems.push(`resource ${r.code} has no item "${item.name}"`);
    if (seen.has(item.name)) problems.push(`item "${item.name}" is named twice`);
    seen.add(item.name);
  }
  if (input.purposes.length === 0) problems.push('purposes must name at least one service item (政务服务事项)');
  for (const code of input.purposes) {
    const p = ctx.runtime.purposes.get(code);
    if (!p) problems.push(`purpose "${code}" is not registered`);
    else if (!p.departments.includes(consumer)) problems.push(`purpose "${code}" is not a service item your department handles`);
    else if (p.resources && !p.resources.includes(r.code)) problems.push(`purpose "${code}" does not cover resource ${r.code} (最小必要)`);
  }
  for (const code of input.systems ?? []) {
    const s = ctx.runtime.catalogue.systems.find((x) => x.code === code);
    if (!s) problems.push(`system "${code}" is not registered`);
    else if (s.department !== consumer) problems.push(`system "${code}" is not one of your department's systems`);
  }
  validDate(input.validFrom, 'validFrom');
  validDate(input.validUntil, 'validUntil');
  if (input.validUntil < input.validFrom) problems.push('validUntil is before validFrom');
  if (input.validUntil < today) problems.push(`validUntil ${input.validUntil} is in the past`);
  if (!Number.isInteger(input.expectedDailyVolume) || input.expectedDailyVolume < 1) problems.push('expectedDailyVolume must be at least 1');
  if (!Number.isInteger(input.maxBatch) || input.maxBatch < 1 || input.maxBatch > ctx.runtime.config.limits.maxBatch) {
    problems.push(`maxBatch must be between 1 and ${ctx.runtime.config.limits.maxBatch}`);
  }
  if (problems.length > 0) throw bad(`The application is incomplete: ${problems.join('; ')}.`, { problems });
}

async function applyForAccess(_: unknown, { input }: { input: ApplyInput }, ctx: HubContext): Promise<Application> {
  requireAny(ctx, 'apply', 'Application');
  const r = ctx.runtime.resources.get(input.resource);
  if (!r) throw bad(`Resource "${input.resource}" is not catalogued. Query \`catalogue\` for the codes.`, { argument: 'resource' });
  if (r.sharing === 'none') throw bad(`Resource ${r.code} is not shared (不予共享: ${r.legalBasis ?? 'see the catalogue'}); it cannot be applied for.`, { argument: 'resource' });
  if (r.sharing === 'unconditional') throw bad(`Resource ${r.code} is shared unconditionally (无条件共享): your systems may read it for the purposes your department handles, without an application.`, { argument: 'resource' });
  const consumer = ctx.principal.department;
  if (!can(ctx, 'apply', 'Application', { consumer, provider: r.provider })) throw hubError('FORBIDDEN', 'Only a data officer of a department may apply, for that department.');
  const reason = reasonOrThrow(input.reason, 'An application');
  const today = ctx.runtime.today();
  checkApply(ctx, input, r, today);
  const id = newId('SQ', today);
  const deadline = addWorkingDays(ctx.runtime.calendar, today, ctx.runtime.config.applications.deadlineWorkingDays);
  const application: Application = {
    id,
    version: 1,
    resource: r.code,
    provider: r.provider,
    consumer,
    items: input.items.map((i) => ({ name: i.name, access: i.access })),
    purposes: [...input.purposes],
    systems: [...(input.systems ?? [])],
    validFrom: input.validFrom,
    validUntil: input.validUntil,
    expectedDailyVolume: input.expectedDailyVolume,
    maxBatch: input.maxBatch,
    reason,
    status: 'pending',
    submittedAt: new Date(),
    submittedBy: ctx.principal.id,
    deadline,
    history: [{ ...actor(ctx, 'apply', reason), at: new Date(), version: 1 }],
  };
  await insertApplication(ctx.runtime.db, application);
  await recordChange(ctx, { action: 'application.apply', target: id, after: summary(application), reason });
  return application;
}

/** What an admin record keeps of an application: its terms and state, not its history. */
function summary(a: Application): Record<string, unknown> {
  const { history: _history, ...rest } = a;
  return rest;
}

async function load(ctx: HubContext, id: string, action: string): Promise<Application> {
  return authorize(ctx, action, 'Application', await getApplication(ctx.runtime.db, id), id);
}

function next(a: Application, action: ApplicationAction): Application['status'] {
  const step = nextApplicationStatus(a, action);
  if (!step.ok) throw hubError('CONFLICT', step.message, { id: a.id, status: a.status });
  return step.status;
}

async function change(ctx: HubContext, a: Application, set: Partial<Application>, action: string, reason: string | null): Promise<Application> {
  const after = await changeApplication(ctx.runtime.db, a, set, actor(ctx, action, reason));
  if (!after) throw hubError('CONFLICT', `Application ${a.id} was changed by someone else meanwhile; reload it and try again.`, { id: a.id });
  await recordChange(ctx, { action: `application.${action}`, target: a.id, before: summary(a), after: summary(after), reason });
  return after;
}

/** Approval or a directed grant: the application's state first (exclusive), then the grant. */
async function grantFor(ctx: HubContext, a: Application, terms: TermsInput | null | undefined, action: 'approve' | 'direct', reason: string | null, extra: Partial<Application>): Promise<Application> {
  const r = ctx.runtime.resources.get(a.resource);
  if (!r) throw hubError('CONFLICT', `Resource ${a.resource} is no longer catalogued; the application cannot be granted.`);
  const today = ctx.runtime.today();
  const checked = checkApprovalTerms(a, termsOf(terms), r, today);
  if (!checked.ok) throw bad(`The approval terms are not allowed: ${checked.problems.join('; ')}.`, { problems: checked.problems });
  const status = next(a, action);
  const grantId = newId('G', today);
  const approved = await change(ctx, a, { ...extra, status, grant: grantId, decidedAt: new Date() }, action, reason);
  const grant = grantFromTerms(ctx, a, grantId, checked.grant, reason);
  try {
    await insertGrant(ctx.runtime.db, grant);
  } catch (error) {
    ctx.runtime.logger.error({ err: error, application: a.id }, 'grant could not be stored after the approval was recorded');
    throw hubError('INTERNAL_SERVER_ERROR', `Application ${a.id} is recorded as approved but its grant ${grantId} could not be stored; try again or report it.`);
  }
  const { history: _h, ...grantSummary } = grant;
  await recordChange(ctx, { action: 'grant.create', target: grantId, after: grantSummary, reason });
  await ctx.runtime.changed('grants');
  return approved;
}

function termsOf(terms: TermsInput | null | undefined) {
  if (!terms) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(terms)) if (v !== null && v !== undefined) out[k] = v;
  if (terms.validFrom) validDate(terms.validFrom, 'terms.validFrom');
  if (terms.validUntil) validDate(terms.validUntil, 'terms.validUntil');
  return out as Parameters<typeof checkApprovalTerms>[1];
}

async function approveApplication(_: unknown, args: { id: string; terms?: TermsInput | null; reason?: string | null }, ctx: HubContext): Promise<Application> {
  const a = await load(ctx, args.id, 'approve');
  const reason = args.reason?.trim() || null;
  return grantFor(ctx, a, args.terms, 'approve', reason, {});
}

async function rejectApplication(_: unknown, args: { id: string; reason: string }, ctx: HubContext): Promise<Application> {
  const a = await load(ctx, args.id, 'reject');
  const reason = reasonOrThrow(args.reason, 'A refusal');
  return change(ctx, a, { status: next(a, 'reject'), decidedAt: new Date() }, 'reject', reason);
}

async function withdrawApplication(_: unknown, args: { id: string; reason: string }, ctx: HubContext): Promise<Application> {
  const a = await load(ctx, args.id, 'withdraw');
  const reason = reasonOrThrow(args.reason, 'A withdrawal');
  return change(ctx, a, { status: next(a, 'withdraw') }, 'withdraw', reason);
}

async function escalateApplication(_: unknown, args: { id: string; reason: string }, ctx: HubContext): Promise<Application> {
  const a = await load(ctx, args.id, 'escalate');
  const reason = reasonOrThrow(args.reason, 'An escalation');
  return change(ctx, a, { status: next(a, 'escalate'), escalation: { reason, at: new Date(), by: ctx.principal.id } }, 'escalate', reason);
}

async function resolveEscalation(_: unknown, args: { id: string; decision: 'uphold' | 'direct'; reason: string; terms?: TermsInput | null }, ctx: HubContext): Promise<Application> {
  const a = await load(ctx, args.id, 'resolve');
  const reason = reasonOrThrow(args.reason, 'A coordination decision');
  const escalation = { ...a.escalation!, resolution: args.decision === 'uphold' ? 'upheld' as const : 'directed' as const, resolvedAt: new Date(), resolvedBy: ctx.principal.id, resolutionReason: reason };
  if (args.decision === 'uphold') return change(ctx, a, { status: next(a, 'uphold'), escalation }, 'uphold', reason);
  return grantFor(ctx, a, args.terms, 'direct', reason, { escalation });
}

function filterOf(ctx: HubContext, filter: { status?: Application['status'] | null; resource?: string | null; consumer?: string | null; provider?: string | null; overdue?: boolean | null } | null | undefined): ApplicationFilter {
  const f = filter ?? {};
  return { status: f.status ?? null, resource: f.resource ?? null, consumer: f.consumer ?? null, provider: f.provider ?? null, overdueBefore: f.overdue ? ctx.runtime.today() : null };
}

async function page<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof CursorError) throw bad(error.message, { argument: 'after' });
    throw error;
  }
}

const connection = <T>(p: { nodes: T[]; endCursor: string | null; hasNextPage: boolean; totalCount: number }) => ({
  nodes: p.nodes,
  pageInfo: { endCursor: p.endCursor, hasNextPage: p.hasNextPage },
  totalCount: p.totalCount,
});

export const applicationResolvers = {
  Query: {
    async applications(_: unknown, args: { filter?: Parameters<typeof filterOf>[1]; first?: number; after?: string | null }, ctx: HubContext) {
      requireAny(ctx, 'read', 'Application');
      return connection(await page(() => listApplications(ctx.runtime.db, visibleFilter(ctx, 'Application'), filterOf(ctx, args.filter), 'id', pageSize(args.first), args.after)));
    },
    async pendingApplications(_: unknown, args: { first?: number; after?: string | null }, ctx: HubContext) {
      requireAny(ctx, 'approve', 'Application');
      // Own department as provider only, earliest deadline first.
      const filter = { status: 'pending' as const, provider: ctx.principal.department };
      return connection(await page(() => listApplications(ctx.runtime.db, visibleFilter(ctx, 'Application'), filter, 'deadline', pageSize(args.first), args.after)));
    },
    async application(_: unknown, args: { id: string }, ctx: HubContext) {
      requireAny(ctx, 'read', 'Application');
      const a = await getApplication(ctx.runtime.db, args.id);
      return a && can(ctx, 'read', 'Application', a) ? a : null;
    },
  },
  Mutation: { applyForAccess, withdrawApplication, approveApplication, rejectApplication, escalateApplication, resolveEscalation },
  Application: {
    overdue: (a: Application, _: unknown, ctx: HubContext) => a.status === 'pending' && isOverdue(a.deadline, ctx.runtime.today()),
    resource: (a: Application, _: unknown, ctx: HubContext) => ctx.runtime.resources.get(a.resource) ?? null,
    resourceCode: (a: Application) => a.resource,
    items: (a: Application) => a.items.map((i) => ({ ...i, consent: i.consent ?? false })),
    submittedAt: (a: Application) => a.submittedAt.toISOString(),
    grant: async (a: Application, _: unknown, ctx: HubContext) => {
      if (!a.grant) return null;
      const g = await getGrant(ctx.runtime.db, a.grant);
      return g && can(ctx, 'read', 'Grant', g) ? g : null;
    },
  },
  Escalation: {
    at: (e: { at: Date }) => e.at.toISOString(),
    resolvedAt: (e: { resolvedAt?: Date }) => e.resolvedAt?.toISOString() ?? null,
    resolution: (e: { resolution?: string }) => (e.resolution === 'upheld' ? 'uphold' : e.resolution === 'directed' ? 'direct' : null),
  },
  HistoryEntry: { at: (h: { at: Date }) => h.at.toISOString() },
};

export { connection, page };
