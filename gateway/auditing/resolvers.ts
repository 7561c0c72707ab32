/**
 * Resolvers of the auditor's interface and of the data subject's view. Auditors' searches are
 * themselves recorded (the auditor is audited too); the subject's identifier is only ever hashed.
 */
import {
  ADMIN_LOG, auditAnomalies, auditStatistics, disclose, disclosed, getAdminRecord, getTrailRecord, listLogs, parseRecordId, parseVerifierKey, proveAdminRecord, proveRecord, rangeProblem, recordId,
  searchAdmin, searchTrail, subjectHash, TrailCursorError, verifyTrail,
  type AnomalyFlag, type AnomalyKind, type ClassifiedItems, type StatDimension, type StoredAccess, type TrailFilter,
} from '../../audit/index.ts';
import { isWorkingDay } from '../../policies/index.ts';
import { creditCodeProblem, idNumberProblem } from '../../schema/index.ts';
import { getApplication, getGrant } from '../../store/index.ts';
import type { HubContext } from '../context.ts';
import { hubError } from '../errors.ts';
import { reasonOrThrow } from '../management/applications.ts';
import { pageSize, recordChange, requireAny } from '../management/guard.ts';

interface AuditFilterInput {
  readonly kind?: 'access' | 'admin' | null;
  readonly from?: string | null;
  readonly to?: string | null;
  readonly department?: string | null;
  readonly system?: string | null;
  readonly operator?: string | null;
  readonly resource?: string | null;
  readonly purpose?: string | null;
  readonly caseId?: string | null;
  readonly decision?: 'allow' | 'partial' | 'deny' | null;
  readonly code?: string | null;
  readonly idNumber?: string | null;
  readonly creditCode?: string | null;
  readonly actor?: string | null;
  readonly target?: string | null;
}

const bad = (message: string, argument: string) => hubError('BAD_USER_INPUT', message, { argument });

function time(value: string | null | undefined, name: string): Date | null {
  if (!value) return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw bad(`${name} must be an ISO date or date-time.`, name);
  return d;
}

/** The keyed hash of the subject an auditor or the portal names; validated first. */
function subjectOf(ctx: HubContext, idNumber: string | null | undefined, creditCode: string | null | undefined): string | null {
  if (idNumber && creditCode) throw bad('Name one subject: idNumber or creditCode.', 'idNumber');
  if (idNumber) {
    const problem = idNumberProblem(idNumber);
    if (problem) throw bad(`idNumber is not a valid citizen ID number (GB 11643): it ${problem}.`, 'idNumber');
    return subjectHash(ctx.runtime.subjectKey, idNumber);
  }
  if (creditCode) {
    const problem = creditCodeProblem(creditCode);
    if (problem) throw bad(`creditCode is not a valid unified social credit code (GB 32100): it ${problem}.`, 'creditCode');
    return subjectHash(ctx.runtime.subjectKey, creditCode);
  }
  return null;
}

async function paged<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TrailCursorError) throw bad(error.message, 'after');
    throw error;
  }
}

const accessNode = (r: StoredAccess) => ({ ...r, id: recordId(r.log, r.seq), kind: 'access', at: r.at.toISOString(), credential: r.credential ?? 'token', onBehalfOf: r.onBehalfOf ?? null });

export const auditingResolvers = {
  Query: {
    async auditRecords(_: unknown, args: { filter?: AuditFilterInput | null; first?: number; after?: string | null }, ctx: HubContext) {
      requireAny(ctx, 'read', 'AuditTrail');
      const f = args.filter ?? {};
      const first = pageSize(args.first, 1000);
      const from = time(f.from, 'from');
      const to = time(f.to, 'to');
      const subject = subjectOf(ctx, f.idNumber, f.creditCode);
      // The auditor is audited too: what was searched (the subject only as its hash).
      const { idNumber: _i, creditCode: _c, ...searched } = f;
      await recordChange(ctx, { action: 'audit.search', target: f.kind ?? 'access', after: { ...searched, subject } });
      if (f.kind === 'admin') {
        const page = await paged(() => searchAdmin(ctx.runtime.db, { from, to, actor: f.actor ?? null, department: f.department ?? null, target: f.target ?? null }, first, args.after));
        return {
          nodes: page.records.map((r) => ({ ...r, kind: 'admin', log: typeof r.seq === 'number' ? ADMIN_LOG : null, at: r.at.toISOString() })),
          pageInfo: { endCursor: page.endCursor, hasNextPage: page.hasNextPage },
        };
      }
      const filter: TrailFilter = {
        from, to, subject,
        department: f.department ?? null, system: f.system ?? null, operator: f.operator ?? null, resource: f.resource ?? null,
        purpose: f.purpose ?? null, caseId: f.caseId ?? null, decision: f.decision ?? null, code: f.code ?? null,
      };
      const page = await paged(() => searchTrail(ctx.runtime.db, filter, first, args.after));
      return { nodes: page.records.map(accessNode), pageInfo: { endCursor: page.endCursor, hasNextPage: page.hasNextPage } };
    },

    async auditRecord(_: unknown, args: { id: string }, ctx: HubContext) {
      requireAny(ctx, 'read', 'AuditTrail');
      const ref = parseRecordId(args.id);
      if (!ref) throw bad('id must be a record id: <log>#<sequence number> (admin#<sequence number> for an administrative record).', 'id');
      const { db } = ctx.runtime;
      const admin = ref.log === ADMIN_LOG;
      const record = admin ? await getAdminRecord(db, ref.seq) : await getTrailRecord(db, args.id);
      if (!record) return null;
      await recordChange(ctx, { action: 'audit.read', target: args.id });
      const proof = admin ? await proveAdminRecord(db, ref.seq) : await proveRecord(db, ref.log, ref.seq);
      return {
        record: admin ? { ...record, id: args.id, kind: 'admin', log: ADMIN_LOG, at: record.at.toISOString() } : accessNode(record as StoredAccess),
        proof: proof ? { checkpoint: proof.checkpoint, treeSize: proof.size, index: ref.seq, leafHash: proof.leaf, canonicalRecord: proof.record, path: proof.proof } : null,
      };
    },

    async auditStatistics(_: unknown, args: { from: string; to: string; by?: StatDimension[] | null }, ctx: HubContext) {
      requireAny(ctx, 'read', 'AuditTrail');
      for (const [name, v] of [['from', args.from], ['to', args.to]] as const) {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw bad(`${name} must be a date YYYY-MM-DD.`, name);
      }
      if (args.to < args.from) throw bad('to is before from.', 'to');
      const by: StatDimension[] = [...new Set<StatDimension>(args.by ?? ['department'])];
      await recordChange(ctx, { action: 'audit.statistics', target: `${args.from}..${args.to}`, after: { by } });
      return auditStatistics(ctx.runtime.db, args.from, args.to, by);
    },

    async auditAnomalies(_: unknown, args: { from: string; to: string; kinds?: AnomalyKind[] | null; recordsPerFlag?: number | null }, ctx: HubContext) {
      requireAny(ctx, 'read', 'AuditTrail');
      const problem = rangeProblem(args.from, args.to);
      if (problem) throw bad(problem, problem.startsWith('from') ? 'from' : 'to');
      const recordLimit = args.recordsPerFlag ?? 100;
      if (!Number.isInteger(recordLimit) || recordLimit < 1 || recordLimit > 10_000) throw bad('recordsPerFlag must be 1-10000.', 'recordsPerFlag');
      const kinds = args.kinds ? [...new Set(args.kinds)] : null;
      const { runtime } = ctx;
      await recordChange(ctx, { action: 'audit.anomalies', target: `${args.from}..${args.to}`, after: { kinds } });
      const classified = new Map<string, ClassifiedItems>();
      for (const r of runtime.resources.values()) {
        classified.set(r.code, {
          sensitive: r.items.filter((i) => i.classification === 'sensitive').map((i) => i.name),
          biometric: r.items.filter((i) => i.classification === 'biometric').map((i) => i.name),
        });
      }
      const flags = await auditAnomalies(runtime.db, {
        from: args.from,
        to: args.to,
        ...(kinds ? { kinds } : {}),
        thresholds: runtime.config.audit.anomalies,
        timeZone: runtime.config.timeZone,
        isWorkingDay: (day) => isWorkingDay(runtime.calendar, day),
        expectedDailyVolumes: (ids) => expectedDailyVolumes(ctx, ids),
        classified,
        themeOf: (purpose) => runtime.purposes.get(purpose)?.theme ?? purpose,
        recordLimit,
      });
      return flags.map(anomalyNode);
    },

    async auditLogs(_: unknown, _args: unknown, ctx: HubContext) {
      requireAny(ctx, 'read', 'AuditTrail');
      return listLogs(ctx.runtime.db);
    },

    async verifyAuditTrail(_: unknown, args: { log?: string | null }, ctx: HubContext) {
      requireAny(ctx, 'read', 'AuditTrail');
      const report = await verifyTrail(ctx.runtime.db, parseVerifierKey(ctx.runtime.signer.verifierKey), args.log ?? undefined);
      await recordChange(ctx, { action: 'audit.verify', target: args.log ?? 'all', after: { ok: report.ok, problems: report.logs.reduce((n, l) => n + l.problems.length, 0) } });
      return report;
    },

    async subjectAccessLog(_: unknown, args: { idNumber?: string | null; creditCode?: string | null; first?: number; after?: string | null }, ctx: HubContext) {
      requireAny(ctx, 'read_subject', 'AuditTrail');
      const subject = subjectOf(ctx, args.idNumber, args.creditCode);
      if (!subject) throw bad('Name the data subject: idNumber or creditCode.', 'idNumber');
      const first = pageSize(args.first, 200);
      const { runtime } = ctx;
      const now = Date.now();
      // Served or verified accesses only; records of confidential purposes stay hidden until their
      // period ends, unless an auditor disclosed them.
      const nodes: ReturnType<typeof subjectNode>[] = [];
      let after = args.after ?? null;
      let hasNextPage = false;
      let endCursor: string | null = null;
      for (let round = 0; round < 20 && nodes.length < first; round++) {
        const page = await paged(() => searchTrail(runtime.db, { subject, decisions: ['allow', 'partial'] }, first, after));
        const hidden = page.records.filter((r) => isHidden(ctx, r, now));
        const shown = await disclosed(runtime.db, hidden.map((r) => recordId(r.log, r.seq)));
        for (const r of page.records) {
          if (nodes.length >= first) break;
          if (!hidden.includes(r) || shown.has(recordId(r.log, r.seq))) nodes.push(subjectNode(ctx, r));
          endCursor = page.endCursor;
        }
        hasNextPage = page.hasNextPage;
        if (!page.hasNextPage) break;
        after = page.endCursor;
      }
      return { nodes, pageInfo: { endCursor, hasNextPage } };
    },
  },
  Mutation: {
    async discloseToSubject(_: unknown, args: { id: string; reason: string }, ctx: HubContext) {
      requireAny(ctx, 'disclose', 'AuditTrail');
      const reason = reasonOrThrow(args.reason, 'A disclosure');
      const record = await getTrailRecord(ctx.runtime.db, args.id);
      if (!record) throw hubError('NOT_FOUND', `Access record ${args.id} does not exist.`);
      const done = await disclose(ctx.runtime.db, args.id, ctx.principal.id, reason);
      if (!done) throw hubError('CONFLICT', `Access record ${args.id} was already disclosed.`);
      await recordChange(ctx, { action: 'audit.disclose', target: args.id, after: { purpose: record.purpose }, reason });
      return true;
    },
  },
};

/**
 * A flag as the API shows it. `records(first)` is a method: graphql-js's default resolver calls it
 * with the field's arguments, so the type needs no resolver map of its own.
 */
function anomalyNode(flag: AnomalyFlag) {
  return { ...flag, records: (args: { first?: number | null }) => flag.records.slice(0, pageSize(args.first ?? 100, 100)).map(accessNode) };
}

/** The expected daily volume of each grant made from a sharing application (seeded grants have none). */
async function expectedDailyVolumes(ctx: HubContext, ids: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const id of ids) {
    const grant = await getGrant(ctx.runtime.db, id);
    const application = grant?.application ? await getApplication(ctx.runtime.db, grant.application) : null;
    if (application) out.set(id, application.expectedDailyVolume);
  }
  return out;
}

function isHidden(ctx: HubContext, r: StoredAccess, now: number): boolean {
  const days = r.purpose ? ctx.runtime.purposes.get(r.purpose)?.confidentialDays : undefined;
  return days !== undefined && r.at.getTime() + days * 86_400_000 > now;
}

function subjectNode(ctx: HubContext, r: StoredAccess) {
  const purpose = r.purpose ? ctx.runtime.purposes.get(r.purpose) : undefined;
  const resource = r.resource ? ctx.runtime.resources.get(r.resource) : undefined;
  return {
    at: r.at.toISOString(),
    department: r.department,
    departmentName: ctx.runtime.departments.get(r.department) ?? r.department,
    purpose: r.purpose ?? '',
    purposeName: purpose?.name ?? r.purpose ?? '',
    legalBasis: purpose?.legalBasis ?? '',
    resource: r.resource ?? '',
    resourceName: resource?.name ?? r.resource ?? '',
    action: r.action,
  };
}
