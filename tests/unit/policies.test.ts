/**
 * The policy core is pure: grants + purpose + request → decisions. Exhaustive cases, no I/O.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { checkPurpose, compilePolicy, decideRead, decideVerify, type Principal } from '../../policies/index.ts';
import type { Catalogue, Grant, Purpose, Resource } from '../../schema/index.ts';
import { loadHubCatalogue } from '../../gateway/runtime.ts';
import { DEMO_CATALOGUE } from '../support/hub.ts';

let c: Catalogue;
let purposes: Map<string, Purpose>;
const res = (code: string): Resource => c.resources.find((r) => r.code === code)!;
const purpose = (code: string): Purpose => purposes.get(code)!;
const mz: Principal = { kind: 'system', id: 'mz-dibao', department: 'MZ' };
const zw: Principal = { kind: 'system', id: 'zw-yichuang', department: 'ZW' };
const TODAY = '2026-11-22';
const DIBAO = '440000-DIBAO-001';
const CSYJS = '440000-CSYJS-001';

beforeAll(async () => {
  c = await loadHubCatalogue(DEMO_CATALOGUE, {});
  purposes = new Map(c.purposes.map((p) => [p.code, p]));
});

function decide(principal: Principal, purposeCode: string, resource: string, items: string[], options: { grants?: Grant[]; today?: string; batchSize?: number } = {}) {
  const grants = options.grants ?? c.grants.filter((g) => g.consumer === principal.department);
  const today = options.today ?? TODAY;
  const policy = compilePolicy(principal, purpose(purposeCode), c.resources, grants, today);
  return decideRead(policy, res(resource), items, { principal, departmentGrants: grants, today, batchSize: options.batchSize ?? 1 });
}

describe('purpose statement', () => {
  const check = (statement: { purpose?: string; caseId?: string; operator?: string }, principal = mz) =>
    checkPurpose(purposes, principal, { purpose: statement.purpose, caseId: statement.caseId, operator: statement.operator }, TODAY);

  it('accepts a registered purpose the department handles', () => {
    expect(check({ purpose: DIBAO, caseId: 'DB-1', operator: 'op' })).toMatchObject({ ok: true, purpose: { code: DIBAO } });
  });
  it.each([
    [{ caseId: 'c', operator: 'o' }, 'PURPOSE_REQUIRED'],
    [{ purpose: DIBAO, operator: 'o' }, 'PURPOSE_REQUIRED'],
    [{ purpose: DIBAO, caseId: 'c' }, 'PURPOSE_REQUIRED'],
    [{ purpose: 'X', caseId: 'c', operator: 'o' }, 'PURPOSE_INVALID'],
    [{ purpose: CSYJS, caseId: 'c', operator: 'o' }, 'PURPOSE_INVALID'],
    [{ purpose: DIBAO, caseId: 'c d', operator: 'o' }, 'BAD_USER_INPUT'],
    [{ purpose: DIBAO, caseId: 'c', operator: 'x'.repeat(65) }, 'BAD_USER_INPUT'],
  ])('refuses %j with %s', (statement, code) => {
    expect(check(statement)).toMatchObject({ ok: false, refusal: { code } });
  });
  it('does not echo a purpose that is not shaped like a code', () => {
    const refused = check({ purpose: `${'x'.repeat(65)}`, caseId: 'c', operator: 'o' });
    expect(refused).toEqual({ ok: false, refusal: { code: 'PURPOSE_INVALID', message: 'The purpose must be the code of a registered service item (letters, digits, _ . -; at most 64 characters). Query `purposes` for the registered ones.' } });
    expect(check({ purpose: "' OR 1=1 --", caseId: 'c', operator: 'o' })).toEqual(refused);
  });
  it('refuses a purpose that was withdrawn', () => {
    const withdrawn = new Map(purposes);
    withdrawn.set(DIBAO, { ...purpose(DIBAO), validUntil: '2026-01-01' });
    expect(checkPurpose(withdrawn, mz, { purpose: DIBAO, caseId: 'c', operator: 'o' }, TODAY)).toMatchObject({ ok: false, refusal: { code: 'PURPOSE_INVALID' } });
  });
});

describe('read decisions', () => {
  it('serves unconditional resources with the catalogue default masks', () => {
    const d = decide(mz, DIBAO, 'GA-HUKOU', ['gender', 'name', 'address']);
    expect(d).toMatchObject({ allowed: true, refusals: [] });
    if (!d.allowed) return;
    expect(d.permits).toEqual([
      { item: 'gender', access: 'clear', mask: 'none', consent: false },
      { item: 'name', access: 'masked', mask: 'name', consent: false },
      { item: 'address', access: 'masked', mask: 'address', consent: false },
    ]);
  });

  it('serves granted items as granted and refuses the others by name', () => {
    const d = decide(mz, DIBAO, 'RS-SOCIAL-INSURANCE', ['status', 'employer']);
    expect(d.allowed).toBe(true);
    if (!d.allowed) return;
    expect(d.permits).toEqual([{ item: 'status', access: 'clear', mask: 'none', consent: false }]);
    expect(d.refusals).toEqual([{ item: 'employer', refusal: { code: 'FORBIDDEN', denial: 'ITEM_NOT_GRANTED', message: expect.stringContaining('employer') } }]);
    expect(d.grants).toEqual([{ id: 'G-2026-0003', version: 1 }]);
  });

  it('masks items granted masked, with "full" when the catalogue sets no mask', () => {
    const d = decide(mz, DIBAO, 'GA-VEHICLE', ['plates']);
    expect(d.allowed && d.permits).toEqual([{ item: 'plates', access: 'masked', mask: 'full', consent: false }]);
  });

  it('refuses items granted for verification only, pointing to verify', () => {
    const d = decide(zw, CSYJS, 'WJ-BIRTH-CERT', ['motherIdNumber']);
    expect(d.allowed && d.refusals[0]?.refusal.message).toMatch(/verification only/);
  });

  it('refuses a conditional resource without a grant', () => {
    expect(decide(zw, CSYJS, 'RS-SOCIAL-INSURANCE', ['employer'], { grants: [] })).toMatchObject({ allowed: false, refusal: { code: 'FORBIDDEN' } });
  });

  it('refuses an expired grant with GRANT_EXPIRED, and a grant not yet valid', () => {
    expect(decide(mz, DIBAO, 'WJ-BIRTH-CERT', ['childName'])).toMatchObject({ allowed: false, refusal: { code: 'GRANT_EXPIRED', message: expect.stringContaining('2025-12-31') } });
    expect(decide(mz, DIBAO, 'RS-SOCIAL-INSURANCE', ['status'], { today: '2025-06-01' })).toMatchObject({ allowed: false, refusal: { code: 'FORBIDDEN', message: expect.stringContaining('valid from') } });
  });

  it.each(['suspended', 'revoked'] as const)('refuses a %s grant', (status) => {
    const grants = c.grants.filter((g) => g.consumer === 'MZ').map((g) => (g.id === 'G-2026-0003' ? { ...g, status } : g));
    expect(decide(mz, DIBAO, 'RS-SOCIAL-INSURANCE', ['status'], { grants })).toMatchObject({ allowed: false, refusal: { code: 'FORBIDDEN', message: expect.stringContaining(status) } });
  });

  it('names the rule of every denial, with the grant and version that decided it', () => {
    const with3 = (change: Partial<Grant>) => c.grants.filter((g) => g.consumer === 'MZ').map((g) => (g.id === 'G-2026-0003' ? { ...g, version: 4, ...change } : g));
    const cases: Array<[string, ReturnType<typeof decide>, { code: string; denial: string; grant?: { id: string; version: number } }]> = [
      ['no grant', decide(zw, CSYJS, 'RS-SOCIAL-INSURANCE', ['status'], { grants: [] }), { code: 'FORBIDDEN', denial: 'NO_GRANT' }],
      ['expired', decide(mz, DIBAO, 'WJ-BIRTH-CERT', ['childName']), { code: 'GRANT_EXPIRED', denial: 'GRANT_EXPIRED', grant: { id: 'G-2024-0107', version: 1 } }],
      ['suspended', decide(mz, DIBAO, 'RS-SOCIAL-INSURANCE', ['status'], { grants: with3({ status: 'suspended' }) }), { code: 'FORBIDDEN', denial: 'GRANT_SUSPENDED', grant: { id: 'G-2026-0003', version: 4 } }],
      ['revoked', decide(mz, DIBAO, 'RS-SOCIAL-INSURANCE', ['status'], { grants: with3({ status: 'revoked' }) }), { code: 'FORBIDDEN', denial: 'GRANT_REVOKED', grant: { id: 'G-2026-0003', version: 4 } }],
      ['not yet valid', decide(mz, DIBAO, 'RS-SOCIAL-INSURANCE', ['status'], { today: '2025-06-01' }), { code: 'FORBIDDEN', denial: 'GRANT_NOT_YET_VALID', grant: { id: 'G-2026-0003', version: 1 } }],
      ['batch', decide(mz, DIBAO, 'RS-SOCIAL-INSURANCE', ['status'], { batchSize: 101 }), { code: 'QUOTA_EXCEEDED', denial: 'BATCH_TOO_LARGE', grant: { id: 'G-2026-0003', version: 1 } }],
      ['not shared', decide(mz, DIBAO, 'GA-CRIMINAL', ['caseCount']), { code: 'FORBIDDEN', denial: 'NOT_SHARED' }],
      ['outside the purpose', decide(zw, CSYJS, 'ZR-REAL-ESTATE', ['propertyCount']), { code: 'FORBIDDEN', denial: 'OUTSIDE_PURPOSE' }],
    ];
    for (const [name, d, expected] of cases) {
      expect(d.allowed, name).toBe(false);
      if (d.allowed) continue;
      expect({ code: d.refusal.code, denial: d.refusal.denial, ...(d.refusal.grant ? { grant: d.refusal.grant } : {}) }, name).toEqual(expected);
      if (expected.grant) expect(d.grants, name).toEqual([expected.grant]);
    }
    const item = decide(mz, DIBAO, 'RS-SOCIAL-INSURANCE', ['employer']);
    expect(item.allowed && item.refusals.map((r) => r.refusal.denial)).toEqual(['ITEM_NOT_GRANTED']);
    const verifyOnly = decide(zw, CSYJS, 'WJ-BIRTH-CERT', ['motherIdNumber']);
    expect(verifyOnly.allowed && verifyOnly.refusals.map((r) => r.refusal.denial)).toEqual(['VERIFY_ONLY']);
  });

  it('summarises the limits of the grants in force: daily quotas, batch, verification attempts, consent items', () => {
    const policy = compilePolicy(zw, purpose(CSYJS), c.resources, c.grants.filter((g) => g.consumer === 'ZW'), TODAY);
    expect(policy.grantSummary.get('GA-FACE')).toEqual({
      refs: [{ id: 'G-2026-0008', version: 1 }], maxBatch: 1, daily: [{ grant: { id: 'G-2026-0008', version: 1 }, perDay: 200 }], verifyPerDay: 3, consentItems: new Set(['photo']),
    });
    // G-2026-0002 sets no daily quota: nothing to count for RS-SOCIAL-INSURANCE.
    expect(policy.grantSummary.get('RS-SOCIAL-INSURANCE')).toMatchObject({ daily: [], verifyPerDay: 5, maxBatch: undefined });
  });

  it('binds a grant to its systems', () => {
    const grants = c.grants.filter((g) => g.consumer === 'MZ').map((g) => (g.id === 'G-2026-0003' ? { ...g, systems: ['mz-other'] } : g));
    expect(decide(mz, DIBAO, 'RS-SOCIAL-INSURANCE', ['status'], { grants }).allowed).toBe(false);
  });

  it('binds a grant to its purposes', () => {
    const other: Purpose = { ...purpose(DIBAO), code: 'OTHER' };
    const grants = c.grants.filter((g) => g.consumer === 'MZ');
    const policy = compilePolicy(mz, other, c.resources, grants, TODAY);
    expect(decideRead(policy, res('RS-SOCIAL-INSURANCE'), ['status'], { principal: mz, departmentGrants: grants, today: TODAY, batchSize: 1 }).allowed).toBe(false);
  });

  it('refuses resources outside the purpose and resources that are not shared', () => {
    expect(decide(zw, CSYJS, 'ZR-REAL-ESTATE', ['propertyCount'])).toMatchObject({ allowed: false, refusal: { message: expect.stringContaining('does not cover') } });
    expect(decide(mz, DIBAO, 'GA-CRIMINAL', ['caseCount'])).toMatchObject({ allowed: false, refusal: { code: 'FORBIDDEN', message: expect.stringContaining('不予共享') } });
  });

  it('requires consent for biometric items even when a grant names them', () => {
    const grant: Grant = { id: 'G-FACE', version: 1, resource: 'GA-FACE', consumer: 'ZW', purposes: [CSYJS], items: [{ name: 'photo', access: 'clear' }, { name: 'takenAt', access: 'clear' }], validFrom: '2026-01-01', validUntil: '2027-01-01', status: 'approved' };
    const d = decide(zw, CSYJS, 'GA-FACE', ['photo', 'takenAt'], { grants: [grant] });
    expect(d.allowed).toBe(true);
    if (!d.allowed) return;
    // Both are permitted by the grant; the photo only under a consent in force (checked by the gateway).
    expect(d.permits).toEqual([
      { item: 'photo', access: 'clear', mask: 'none', consent: true },
      { item: 'takenAt', access: 'clear', mask: 'none', consent: false },
    ]);
    expect(d.refusals).toEqual([]);
  });

  it('marks items a grant declares consent-bound, and refuses a biometric item no grant names', () => {
    const grant: Grant = { id: 'G-FACE', version: 1, resource: 'GA-FACE', consumer: 'ZW', purposes: [CSYJS], items: [{ name: 'takenAt', access: 'clear', consent: true }], validFrom: '2026-01-01', validUntil: '2027-01-01', status: 'approved' };
    const d = decide(zw, CSYJS, 'GA-FACE', ['photo', 'takenAt'], { grants: [grant] });
    expect(d).toMatchObject({
      allowed: true,
      permits: [{ item: 'takenAt', consent: true }],
      refusals: [{ item: 'photo', refusal: { code: 'FORBIDDEN', denial: 'ITEM_NOT_GRANTED' } }],
    });
  });

  it('enforces the grant batch limit', () => {
    expect(decide(mz, DIBAO, 'RS-SOCIAL-INSURANCE', ['status'], { batchSize: 100 }).allowed).toBe(true);
    expect(decide(mz, DIBAO, 'RS-SOCIAL-INSURANCE', ['status'], { batchSize: 101 })).toMatchObject({ allowed: false, refusal: { code: 'QUOTA_EXCEEDED' } });
  });
});

describe('verify decisions', () => {
  it('allows verification of verify-only, masked and clear items, and refuses unknown or ungranted ones', () => {
    const grants = c.grants.filter((g) => g.consumer === 'ZW');
    const policy = compilePolicy(zw, purpose(CSYJS), c.resources, grants, TODAY);
    const ctx = { principal: zw, departmentGrants: grants, today: TODAY, batchSize: 1 };
    const ok = decideVerify(policy, res('WJ-BIRTH-CERT'), ['motherIdNumber', 'motherName', 'childName'], ctx);
    expect(ok.allowed && ok.refusals).toEqual([]);
    const bad = decideVerify(policy, res('RS-SOCIAL-INSURANCE'), ['employer', 'salary'], ctx);
    expect(bad.allowed && bad.refusals.map((r) => [r.item, r.refusal.code])).toEqual([['employer', 'FORBIDDEN'], ['salary', 'BAD_USER_INPUT']]);
  });
});
