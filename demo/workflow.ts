/**
 * The demo's people and its sharing workflow, seeded through the hub's own GraphQL API as real
 * officers would do it: data officers of several departments, the platform operator, an auditor and
 * the citizen portal; applications in every state (pending, overdue, approved, rejected,
 * escalated); and the separate consent that lets the sample newborn's mother's face photo be served
 * under 出生一件事.
 */
import type { Db } from 'mongodb';
import type { Principal } from '../policies/index.ts';
import type { DemoData } from './data.ts';

/** Demo principals other than systems, keyed by the name used in `.demo/credentials.json`. */
export const DEMO_PRINCIPALS: Readonly<Record<string, Principal>> = {
  'officer-ga': { kind: 'officer', id: 'ga-officer-chen', department: 'GA' },
  'officer-rs': { kind: 'officer', id: 'rs-officer-wang', department: 'RS' },
  'officer-wj': { kind: 'officer', id: 'wj-officer-li', department: 'WJ' },
  'officer-mz': { kind: 'officer', id: 'mz-officer-zhao', department: 'MZ' },
  'officer-zw': { kind: 'officer', id: 'zw-officer-liu', department: 'ZW' },
  'officer-zr': { kind: 'officer', id: 'zr-officer-huang', department: 'ZR' },
  admin: { kind: 'admin', id: 'zw-platform-admin', department: 'ZW' },
  auditor: { kind: 'auditor', id: 'audit-office-01', department: '' },
  portal: { kind: 'portal', id: 'ywtb-portal', department: '' },
};

export const CSYJS = '440000-CSYJS-001';
export const DIBAO = '440000-DIBAO-001';

type Call = (token: string, query: string, variables?: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** A GraphQL call that throws with the hub's message when the hub refuses. */
export function graphqlCaller(url: string): Call {
  return async (token, query, variables) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as { data?: Record<string, unknown>; errors?: Array<{ message: string }> };
    if (body.errors?.length) throw new Error(`demo seed: ${body.errors.map((e) => e.message).join('; ')}`);
    return body.data ?? {};
  };
}

const APPLY = `mutation ($input: ApplyInput!) { applyForAccess(input: $input) { id status deadline } }`;

const plusDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/**
 * Seeds the applications once (when the hub holds none). Returns their ids by state. The overdue
 * one is an application submitted through the API whose submission date is then set back three
 * weeks, since a real one takes ten working days to fall overdue.
 */
export async function seedApplications(db: Db, url: string, tokens: Readonly<Record<string, string>>, today: string, backdate: (id: string, submittedOn: string) => Promise<void>): Promise<Record<string, string> | null> {
  if ((await db.collection('applications').estimatedDocumentCount()) > 0) return null;
  const call = graphqlCaller(url);
  const apply = async (officer: string, input: Record<string, unknown>) =>
    ((await call(tokens[officer]!, APPLY, { input: { validFrom: today, validUntil: plusDays(today, 365), expectedDailyVolume: 500, maxBatch: 50, ...input } }))['applyForAccess'] as { id: string }).id;

  const pending = await apply('officer-mz', {
    resource: 'WJ-BIRTH-CERT', purposes: [DIBAO], items: [{ name: 'childName', access: 'clear' }, { name: 'birthDate', access: 'clear' }],
    reason: '低保审核需核实家庭新增成员（原授权 G-2024-0107 已到期，申请续期）',
  });
  const overdueId = await apply('officer-mz', {
    resource: 'ZR-REAL-ESTATE', purposes: [DIBAO], items: [{ name: 'propertyCount', access: 'clear' }, { name: 'totalArea', access: 'clear' }],
    systems: ['mz-dibao'], reason: '低保家庭财产核查：申请延长授权期限',
  });
  await backdate(overdueId, plusDays(today, -21));

  const approved = await apply('officer-mz', {
    resource: 'GA-VEHICLE', purposes: [DIBAO], items: [{ name: 'vehicleCount', access: 'clear' }, { name: 'plates', access: 'clear' }],
    reason: '低保家庭车辆核查',
  });
  await call(tokens['officer-ga']!, `mutation ($id: ID!) { approveApplication(id: $id, reason: "号牌只需脱敏展示（最小必要）", terms: { items: [{ name: "vehicleCount", access: clear }, { name: "plates", access: masked }], perDay: 2000, maxBatch: 50 }) { id status } }`, { id: approved });

  const rejected = await apply('officer-mz', {
    resource: 'RS-SOCIAL-INSURANCE', purposes: [DIBAO], items: [{ name: 'employer', access: 'clear' }],
    reason: '核实申请人就业情况',
  });
  await call(tokens['officer-rs']!, `mutation ($id: ID!) { rejectApplication(id: $id, reason: "工作单位与低保审核无直接关系，参保状态与缴费基数已足以判断（最小必要）") { id status } }`, { id: rejected });

  const escalated = await apply('officer-zw', {
    resource: 'WJ-BIRTH-CERT', purposes: [CSYJS], items: [{ name: 'motherIdNumber', access: 'clear' }],
    reason: '出生一件事需回填母亲身份证号码至户口登记申请表',
  });
  await call(tokens['officer-wj']!, `mutation ($id: ID!) { rejectApplication(id: $id, reason: "母亲身份号码仅提供核验，不提供明文") { id status } }`, { id: escalated });
  await call(tokens['officer-zw']!, `mutation ($id: ID!) { escalateApplication(id: $id, reason: "户口登记表须填写母亲身份号码，核验无法满足业务需要，提请协调小组裁定") { id status } }`, { id: escalated });
  return { pending, overdue: overdueId, approved, rejected, escalated };
}

/** The consent that lets the sample newborn's mother's face photo be served under 出生一件事. */
export async function ensureDemoConsent(url: string, portalToken: string, data: DemoData, today: string): Promise<string> {
  const call = graphqlCaller(url);
  const mother = data.births[0]!.mother;
  const existing = (await call(portalToken, `query ($id: String!) { consents(idNumber: $id) { id inForce purpose consumer items } }`, { id: mother }))['consents'] as Array<{ id: string; inForce: boolean; purpose: string; consumer: string; items: string[] }>;
  const inForce = existing.find((c) => c.inForce && c.purpose === CSYJS && c.consumer === 'ZW' && c.items.includes('GA-FACE.photo'));
  if (inForce) return inForce.id;
  const recorded = await call(portalToken, `mutation ($input: ConsentInput!) { recordConsent(input: $input) { id } }`, {
    input: { idNumber: mother, consumer: 'ZW', purpose: CSYJS, items: ['GA-FACE.photo'], validUntil: plusDays(today, 90) },
  });
  return (recorded['recordConsent'] as { id: string }).id;
}
