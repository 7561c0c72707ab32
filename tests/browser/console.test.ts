/**
 * The web console in headless Chromium against a real hub with the demo catalogue: an officer
 * approves (narrowed) and revokes; the consumer's queries follow; an auditor finds both accesses by
 * the subject's ID number, opens one with its inclusion proof, pages through an anomaly flag's
 * records, and verifies the trail; the platform operator sees the registered systems, issues and
 * rotates a token (the successor authenticates) and directs a grant with narrowed terms; a data
 * demand is filed, assigned and answered; a wrong role gets no actions. Screenshots of the main pages
 * go to docs/screenshots/.
 */
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offerDemoLogins } from '../../gateway/console/demo-logins.ts';
import { errorsAt, startTestHub, type TestHub } from '../support/hub.ts';
import { ensureConsoleBuilt, launchChromium, newPage, SCREENSHOTS, shot } from './support.ts';
import { join } from 'node:path';

const CSYJS = '440000-CSYJS-001';
const DIBAO = '440000-DIBAO-001';
let t: TestHub;
let browser: Browser;
let base: string;
let applicationId: string;
let escalatedId: string;
let subject: string;
const pages: Page[] = [];

beforeAll(async () => {
  ensureConsoleBuilt();
  t = await startTestHub({ config: { audit: { checkpointSeconds: 0.5, anomalies: { refusalsPerDay: 2 } } } });
  base = t.url.replace(/\/graphql$/, '');
  offerDemoLogins(t.hub.runtime, { officer: t.people['officer-rs']!, auditor: t.people['auditor']! });
  browser = await launchChromium();
  subject = t.data.persons.find((p) => p.role === 'head')!.idNumber;
  // 公安 applies for 人社's social insurance (status and monthly base) for 出生一件事: pending at 人社.
  const applied = await t.query(t.people['officer-ga']!, `mutation ($input: ApplyInput!) { applyForAccess(input: $input) { id } }`, {
    input: {
      resource: 'RS-SOCIAL-INSURANCE', purposes: [CSYJS], systems: ['ga-huji'], items: [{ name: 'status', access: 'clear' }, { name: 'monthlyBase', access: 'clear' }],
      validFrom: '2026-01-01', validUntil: '2030-12-31', expectedDailyVolume: 300, maxBatch: 20, reason: '新生儿落户核对父母参保状态',
    },
  });
  applicationId = (applied.body.data!['applyForAccess'] as { id: string }).id;
  // 民政 applies for the same resource for 低保, 人社 refuses, 民政 takes it to the coordination group.
  const mz = await t.query(t.people['officer-mz']!, `mutation ($input: ApplyInput!) { applyForAccess(input: $input) { id } }`, {
    input: {
      resource: 'RS-SOCIAL-INSURANCE', purposes: [DIBAO], systems: ['mz-dibao'], items: [{ name: 'status', access: 'clear' }, { name: 'monthlyBase', access: 'clear' }],
      validFrom: '2026-01-01', validUntil: '2030-12-31', expectedDailyVolume: 100, maxBatch: 10, reason: '低保审核核对家庭成员参保与缴费基数',
    },
  });
  escalatedId = (mz.body.data!['applyForAccess'] as { id: string }).id;
  await t.query(t.people['officer-rs']!, `mutation ($id: ID!) { rejectApplication(id: $id, reason: "缴费基数属个人收入信息，不予共享") { id } }`, { id: escalatedId });
  const escalated = await t.query(t.people['officer-mz']!, `mutation ($id: ID!) { escalateApplication(id: $id, reason: "低保审核依法须核对收入") { status } }`, { id: escalatedId });
  expect(escalated.body.data?.['escalateApplication']).toEqual({ status: 'escalated' });
}, 300_000);

afterAll(async () => {
  await Promise.allSettled(pages.map((p) => p.context().close()));
  await browser?.close();
  await t?.close();
});

async function open(locale = 'zh-CN'): Promise<Page> {
  const page = await newPage(browser, locale);
  pages.push(page);
  await page.goto(`${base}/console/`);
  return page;
}

async function loginWithToken(page: Page, token: string): Promise<void> {
  await page.getByLabel('访问令牌').fill(token);
  await page.getByRole('button', { name: '登录', exact: true }).click();
}

/** What ga-huji is served of the subject's social insurance: values, and the code of each refused item. */
async function consumerRead() {
  const res = await t.query(t.tokens.ga, `query ($id: String!) {
    access(purpose: "${CSYJS}", caseId: "CSYJS-2026-88", operator: "op-9") { person(idNumber: $id) { socialInsurance { status monthlyBase } } }
  }`, { id: subject });
  const insurance = ((res.body.data?.['access'] as { person: { socialInsurance: Record<string, unknown> | null } | null } | null)?.person?.socialInsurance) ?? null;
  const refused = Object.fromEntries(errorsAt(res.body, 'access', 'person', 'socialInsurance').map((e) => [String(e.path?.[3] ?? 'socialInsurance'), e.extensions?.['code']]));
  return { served: insurance ? Object.keys(insurance).filter((k) => insurance[k] != null).sort() : [], refused };
}

describe('data officer', () => {
  let officer: Page;

  it('approves a pending application with narrowed items, and the consumer is served exactly those items', async () => {
    officer = await open();
    await shot(officer, 'login');
    await loginWithToken(officer, t.people['officer-rs']!);
    const approve = officer.getByRole('button', { name: `批准 ${applicationId}` });
    await approve.waitFor();
    await shot(officer, 'officer-pending');
    await approve.click();
    // Element Plus draws the box over a visually hidden native checkbox: click what a person sees.
    await officer.getByRole('checkbox', { name: '授予 monthlyBase' }).locator('xpath=..').click();
    await shot(officer, 'officer-approve');
    await officer.getByTestId('approve-confirm').click();
    await approve.waitFor({ state: 'detached' });
    expect(await consumerRead()).toEqual({ served: ['status'], refused: { monthlyBase: 'FORBIDDEN' } });
  });

  it('revokes the grant, and the consumer\'s next query is refused', async () => {
    const grantId = ((await t.query(t.people['officer-rs']!, `query ($id: ID!) { application(id: $id) { grant { id } } }`, { id: applicationId })).body.data!['application'] as { grant: { id: string } }).grant.id;
    await officer.getByTestId('nav-grants').click();
    const revoke = officer.getByRole('button', { name: `撤销 ${grantId}` });
    await revoke.waitFor();
    await shot(officer, 'officer-grants');
    await revoke.click();
    await officer.locator('.el-message-box input').fill('申请部门已不再需要该数据');
    await officer.locator('.el-message-box__btns .el-button--primary').click();
    await revoke.waitFor({ state: 'detached' });
    expect((await consumerRead()).refused).toEqual({ socialInsurance: 'FORBIDDEN' });
  });
});

describe('auditor', () => {
  let auditor: Page;

  it('finds both accesses in the trail by the subject\'s ID number', async () => {
    auditor = await open();
    await auditor.getByRole('button', { name: '以审计员身份登录' }).click();
    await auditor.getByLabel('公民身份号码').fill(subject);
    await auditor.getByRole('button', { name: '检索', exact: true }).click();
    await auditor.getByTestId('searched-subject').waitFor();
    await shot(auditor, 'auditor-trail');
    expect(await auditor.getByRole('button', { name: /^查看 / }).count()).toBe(2);
  });

  /** Opens the record of a `查看 <id>` button and waits until the console has verified its inclusion proof. */
  async function openVerified(button: Locator): Promise<void> {
    const id = (await button.getAttribute('aria-label'))!.slice('查看 '.length);
    // Checkpoints (the access logs' and the administrative log's) are signed every 0.5 s here:
    // wait (bounded) until one covers the record.
    await expect.poll(async () => (await t.query(t.people['auditor']!, `query ($id: ID!) { auditRecord(id: $id) { proof { treeSize } } }`, { id })).body.data?.['auditRecord'], { timeout: 10_000 }).toMatchObject({ proof: { treeSize: expect.any(Number) } });
    await button.click();
    const status = auditor.getByTestId('proof-status');
    await status.waitFor();
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toContain('包含证明已验证');
  }

  it('opens one record and sees its inclusion proof verified', async () => {
    await openVerified(auditor.getByRole('button', { name: /^查看 / }).first());
    await shot(auditor, 'auditor-record');
  });

  it('opens an administrative change (the revocation above) and sees its inclusion proof verified', async () => {
    await auditor.keyboard.press('Escape');
    await auditor.getByLabel('公民身份号码').fill('');
    await auditor.getByLabel('类型').selectOption('admin');
    await auditor.getByRole('button', { name: '检索', exact: true }).click();
    const row = auditor.getByTestId('trail-table').locator('tr', { hasText: 'grant.revoke' }).first();
    await openVerified(row.getByRole('button', { name: /^查看 admin#/ }));
    const drawer = auditor.getByRole('dialog');
    expect(await drawer.textContent()).toContain('grant.revoke');
    await auditor.getByLabel('类型').selectOption('access');
  });

  it('links every record of an anomaly flag, a page at a time', async () => {
    // 企业开办's system may not read vehicles under 免证办: 25 refusals today raise REPEATED_REFUSALS (2 a day here).
    for (let i = 0; i < 25; i++) {
      const res = await t.query(t.tokens.sj, `query ($id: String!) { access(purpose: "440000-MZB-001", caseId: "REF-${i}", operator: "sj-op-1") { person(idNumber: $id) { vehicles { vehicleCount } } } }`, { id: subject });
      if (!res.body.errors?.length) throw new Error('the read was served, not refused');
    }
    await auditor.keyboard.press('Escape');
    await auditor.getByTestId('nav-anomalies').click();
    await auditor.getByRole('button', { name: '检索', exact: true }).click();
    const row = auditor.getByTestId('anomalies-table').locator('tr', { hasText: 'REPEATED_REFUSALS' }).filter({ hasText: 'sj-kaiban' }).first();
    await row.getByRole('button', { name: '展开' }).click();
    const records = auditor.getByTestId('anomalies-table').locator('.records').first();
    await records.waitFor();
    const linked = new Set(await records.getByRole('button', { name: /^查看 / }).evaluateAll((els) => els.map((e) => e.getAttribute('aria-label'))));
    await shot(auditor, 'auditor-anomalies');
    await records.getByRole('button', { name: '下一页' }).click();
    await records.getByRole('button', { name: /^查看 / }).first().waitFor();
    for (const label of await records.getByRole('button', { name: /^查看 / }).evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')))) linked.add(label);
    expect(linked.size).toBe(25);
  });

  it('verifies the trail', async () => {
    await auditor.keyboard.press('Escape');
    await auditor.getByTestId('nav-verify').click();
    await auditor.getByRole('button', { name: '校验审计链' }).click();
    const result = auditor.getByTestId('verify-result');
    await result.waitFor();
    await shot(auditor, 'auditor-verify');
    expect(await result.textContent()).toBe('审计链完整');
  });
});

describe('platform operator', () => {
  let admin: Page;
  let credentialId: string;
  let successor: string;

  it('sees the registered systems with their department on the departments page', async () => {
    admin = await open();
    await loginWithToken(admin, t.people['admin']!);
    await admin.getByTestId('nav-directory').click();
    const row = admin.getByTestId('systems-table').locator('tr', { hasText: 'ga-huji' });
    await row.waitFor();
    await admin.getByTestId('systems-table').screenshot({ path: join(SCREENSHOTS, 'admin-systems.png') });
    expect(await row.textContent()).toMatch(/户籍业务系统\s*广东省公安厅\s*GA/);
  });

  it('issues a token with a lifetime, and the list shows when it expires', async () => {
    await admin.getByTestId('nav-tokens').click();
    await admin.locator('#tk-role').selectOption('system');
    await admin.getByLabel('系统代码').fill('ga-huji');
    await admin.getByLabel('备注').fill('户籍系统 2027 年令牌');
    await admin.getByLabel('有效天数').fill('30');
    await admin.getByRole('button', { name: '签发令牌' }).click();
    await admin.getByTestId('issued-token').waitFor();
    await admin.keyboard.press('Escape');
    const tokens = (await t.query(t.people['admin']!, `{ tokens(principalId: "ga-huji") { id label expiresAt } }`)).body.data!['tokens'] as Array<{ id: string; label: string; expiresAt: string | null }>;
    const issued = tokens.find((c) => c.label === '户籍系统 2027 年令牌')!;
    credentialId = issued.id;
    await admin.getByTestId(`expires-${credentialId}`).waitFor();
    expect(await admin.getByTestId(`expires-${credentialId}`).textContent()).toContain(issued.expiresAt!.slice(0, 10));
  });

  it('rotates the token, and the successor (shown once) authenticates', async () => {
    await admin.getByRole('button', { name: `轮换 ${credentialId}` }).click();
    await admin.getByLabel('旧令牌继续有效（小时）').fill('2');
    await admin.getByLabel('理由').fill('年度轮换');
    await admin.getByTestId('rotate-confirm').click();
    const shown = admin.getByTestId('issued-token');
    await expect.poll(async () => (await shown.isVisible()) && (await shown.textContent())?.trim(), { timeout: 10_000 }).toBeTruthy();
    successor = (await shown.textContent())!.trim();
    await shot(admin, 'admin-rotate');
    expect((await t.query(successor, '{ me { id } }')).body.data).toEqual({ me: { id: 'ga-huji' } });
  });

  it('the list then shows the rotated token with its expiry at the end of the overlap', async () => {
    await admin.keyboard.press('Escape');
    const old = ((await t.query(t.people['admin']!, `{ tokens(principalId: "ga-huji") { id expiresAt } }`)).body.data!['tokens'] as Array<{ id: string; expiresAt: string }>).find((c) => c.id === credentialId)!;
    const shown = old.expiresAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    await expect.poll(() => admin.getByTestId(`expires-${credentialId}`).textContent(), { timeout: 10_000 }).toContain(shown);
    await shot(admin, 'admin-tokens');
    // The end of the two hours' overlap, not the 30 days it was issued with.
    expect(Math.round((Date.parse(old.expiresAt) - Date.now()) / 3_600_000)).toBe(2);
  });

  it('directs a grant for an escalated application with narrowed terms, and the grant has exactly those items', async () => {
    await admin.getByTestId('nav-escalations').click();
    const direct = admin.getByRole('button', { name: `责令提供 ${escalatedId}` });
    await direct.waitFor();
    await shot(admin, 'admin-escalations');
    await direct.click();
    await admin.getByRole('checkbox', { name: '授予 monthlyBase' }).locator('xpath=..').click();
    await admin.getByLabel('每日上限（主体数）').fill('50');
    await admin.getByLabel('协调结论（理由）').fill('协调小组：低保审核可核对参保状态，缴费基数不予提供');
    await shot(admin, 'admin-direct');
    await admin.getByTestId('direct-confirm').click();
    await direct.waitFor({ state: 'detached' });
    const app = (await t.query(t.people['admin']!, `query ($id: ID!) { application(id: $id) { status grant { items { name access } quota { perDay } } } }`, { id: escalatedId })).body.data!['application'];
    expect(app).toEqual({ status: 'approved', grant: { items: [{ name: 'status', access: 'clear' }], quota: { perDay: 50 } } });
  });
});

describe('data demands', () => {
  let demandId: string;
  type DemandRow = { id: string; status: string; provider: string | null; answer: string | null; consumer: string };
  const demandOf = async (id: string) => ((await t.query(t.people['admin']!, `{ demands(first: 100) { nodes { id status provider answer consumer } } }`)).body.data!['demands'] as { nodes: DemandRow[] }).nodes.find((d) => d.id === id);

  it('an officer files a demand', async () => {
    const officer = await open();
    await loginWithToken(officer, t.people['officer-ga']!);
    await officer.getByTestId('nav-demands').click();
    await officer.getByLabel('需求', { exact: true }).fill('新生儿预防接种记录');
    await officer.getByLabel('描述').fill('出生一件事需核对新生儿首针乙肝疫苗接种记录');
    await officer.getByLabel('事项').selectOption(CSYJS);
    await shot(officer, 'officer-demands');
    await officer.getByRole('button', { name: '提交需求' }).click();
    const row = officer.getByTestId('demands-table').locator('tr', { hasText: '新生儿预防接种记录' });
    await row.waitFor();
    demandId = (await row.locator('td').first().textContent())!.trim();
    expect(await demandOf(demandId)).toEqual({ id: demandId, status: 'open', provider: null, answer: null, consumer: 'GA' });
  });

  it('the platform operator assigns it to a provider department', async () => {
    const admin = await open();
    await loginWithToken(admin, t.people['admin']!);
    await admin.getByTestId('nav-demands').click();
    await admin.getByRole('button', { name: `分派 ${demandId}` }).click();
    await admin.locator('#dm-provider').selectOption('WJ');
    await admin.getByLabel('理由').fill('接种记录由卫健委掌握');
    await admin.getByTestId('demand-confirm').click();
    await admin.getByTestId(`demand-status-${demandId}`).getByText('已分派').waitFor();
    expect(await demandOf(demandId)).toMatchObject({ status: 'assigned', provider: 'WJ' });
  });

  it('an officer of another department is offered no answer', async () => {
    const other = await open();
    await loginWithToken(other, t.people['officer-rs']!);
    await other.getByTestId('nav-demands').click();
    await other.getByTestId('demands-table').waitFor();
    await other.waitForLoadState('networkidle', { timeout: 10_000 });
    expect(await other.getByRole('button', { name: `答复需求 ${demandId}` }).count()).toBe(0);
  });

  it('the provider\'s officer answers it', async () => {
    const provider = await open();
    await loginWithToken(provider, t.people['officer-wj']!);
    await provider.getByTestId('nav-demands').click();
    await provider.getByRole('button', { name: `答复需求 ${demandId}` }).click();
    await provider.getByLabel('答复', { exact: true }).fill('已纳入 2027 年第一季度目录编制计划');
    await provider.getByTestId('demand-confirm').click();
    await provider.getByTestId(`demand-status-${demandId}`).getByText('已答复').waitFor();
    expect(await demandOf(demandId)).toEqual({ id: demandId, status: 'answered', provider: 'WJ', answer: '已纳入 2027 年第一季度目录编制计划', consumer: 'GA' });
  });
});

describe('wrong role', () => {
  it('a department system\'s token opens no console session, and no officer or auditor action is shown', async () => {
    const page = await open();
    await loginWithToken(page, t.tokens.ga);
    await page.getByTestId('login-error').waitFor();
    expect(await page.locator('nav, [data-testid^="nav-"], button[aria-label^="批准"], button[aria-label^="查看"]').count()).toBe(0);
  });

  it('an officer sees no auditor pages', async () => {
    const page = await open('en');
    await loginWithToken(page, t.people['officer-wj']!).catch(() => undefined);
    await page.getByTestId('nav-pending').waitFor();
    expect(await page.locator('[data-testid="nav-trail"], [data-testid="nav-verify"], [data-testid="nav-anomalies"], [data-testid="nav-stats"], [data-testid="nav-tokens"]').count()).toBe(0);
  });
});

describe('every page of each role', () => {
  const roles: Array<[string, () => string, string[]]> = [
    ['officer', () => t.people['officer-rs']!, ['catalogue', 'corrections']],
    ['auditor', () => t.people['auditor']!, ['stats', 'demands']],
    ['admin', () => t.people['admin']!, ['directory', 'demands', 'grants', 'trail', 'verify', 'stats']],
  ];
  for (const [role, token, keys] of roles) {
    it(`loads for the ${role} without a refusal from the API`, async () => {
      const page = await open();
      await loginWithToken(page, token());
      const refusals: string[] = [];
      for (const key of keys) {
        await page.getByTestId(`nav-${key}`).click();
        await page.locator('main h2').waitFor();
        // Pages that need a submit show their result (statistics of the last two weeks, anomalies of the last month).
        const submit = page.locator('main form.toolbar button[type="submit"]');
        if (await submit.count()) await submit.click();
        await page.waitForLoadState('networkidle', { timeout: 10_000 });
        if (!(role === 'auditor' && key === 'demands') && (role !== 'admin' || ['directory', 'demands'].includes(key))) await shot(page, `${role}-${key}`);
        refusals.push(...await page.locator('.el-message--error').allTextContents());
      }
      expect(refusals).toEqual([]);
    });
  }
});
