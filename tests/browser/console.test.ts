/**
 * The web console in headless Chromium against a real hub with the demo catalogue: an officer
 * approves (narrowed) and revokes; the consumer's queries follow; an auditor finds both accesses by
 * the subject's ID number, opens one with its inclusion proof, and verifies the trail; a wrong role
 * gets no actions. Screenshots of the main pages go to docs/screenshots/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offerDemoLogins } from '../../gateway/console/demo-logins.ts';
import { errorsAt, startTestHub, type TestHub } from '../support/hub.ts';
import { ensureConsoleBuilt, launchChromium, newPage, shot } from './support.ts';

const CSYJS = '440000-CSYJS-001';
let t: TestHub;
let browser: Browser;
let base: string;
let applicationId: string;
let subject: string;
const pages: Page[] = [];

beforeAll(async () => {
  ensureConsoleBuilt();
  t = await startTestHub({ config: { audit: { checkpointSeconds: 0.5 } } });
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

  it('opens one record and sees its inclusion proof verified', async () => {
    const button = auditor.getByRole('button', { name: /^查看 / }).first();
    const id = (await button.getAttribute('aria-label'))!.slice('查看 '.length);
    // Checkpoints are signed every 0.5 s here: wait (bounded) until one covers the record.
    await expect.poll(async () => (await t.query(t.people['auditor']!, `query ($id: ID!) { auditRecord(id: $id) { proof { treeSize } } }`, { id })).body.data?.['auditRecord'], { timeout: 10_000 }).toMatchObject({ proof: { treeSize: expect.any(Number) } });
    await button.click();
    const status = auditor.getByTestId('proof-status');
    await status.waitFor();
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toContain('包含证明已验证');
    await shot(auditor, 'auditor-record');
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
    ['officer', () => t.people['officer-rs']!, ['catalogue', 'corrections', 'demands']],
    ['auditor', () => t.people['auditor']!, ['anomalies', 'stats']],
    ['admin', () => t.people['admin']!, ['escalations', 'tokens', 'directory', 'grants', 'trail', 'verify', 'stats']],
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
        if (role !== 'admin' || ['escalations', 'tokens', 'directory'].includes(key)) await shot(page, `${role}-${key}`);
        refusals.push(...await page.locator('.el-message--error').allTextContents());
      }
      expect(refusals).toEqual([]);
    });
  }
});
