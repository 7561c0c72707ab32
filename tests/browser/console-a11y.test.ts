/**
 * Accessibility of the console: axe-core (WCAG 2.1 A and AA rules) finds no serious or critical
 * violation on the log-in page or on any page of each role's menu, nor in the approval dialog; and a
 * data officer logs in with the token form and opens an application's approval terms from the
 * keyboard alone.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.ts';
import { ensureConsoleBuilt, launchChromium, newPage } from './support.ts';

let t: TestHub;
let browser: Browser;
let base: string;
let applicationId: string;
const pages: Page[] = [];

beforeAll(async () => {
  ensureConsoleBuilt();
  t = await startTestHub();
  base = t.url.replace(/\/graphql$/, '');
  browser = await launchChromium();
  const applied = await t.query(t.people['officer-ga']!, `mutation ($input: ApplyInput!) { applyForAccess(input: $input) { id } }`, {
    input: {
      resource: 'RS-SOCIAL-INSURANCE', purposes: ['440000-CSYJS-001'], systems: ['ga-huji'], items: [{ name: 'status', access: 'clear' }],
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

async function open(): Promise<Page> {
  const page = await newPage(browser);
  pages.push(page);
  await page.goto(`${base}/console/`);
  return page;
}

/** Serious and critical WCAG 2.1 A/AA violations on the page as it is now: rule, and the elements. */
async function violations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
}

describe('axe-core', () => {
  it('finds no serious or critical violation on the log-in page', async () => {
    const page = await open();
    await page.getByLabel('访问令牌').waitFor();
    expect(await violations(page)).toEqual([]);
  });

  const roles: Array<[string, string, string[]]> = [
    ['officer', 'officer-rs', ['pending', 'grants', 'catalogue', 'corrections', 'demands']],
    ['auditor', 'auditor', ['trail', 'verify', 'anomalies', 'stats', 'demands']],
    ['admin', 'admin', ['escalations', 'tokens', 'directory', 'demands', 'grants', 'trail', 'verify', 'stats']],
  ];
  for (const [role, person, keys] of roles) {
    it(`finds no serious or critical violation on any page of the ${role}`, async () => {
      const page = await open();
      await page.getByLabel('访问令牌').fill(t.people[person]!);
      await page.getByRole('button', { name: '登录', exact: true }).click();
      const found: Record<string, string[]> = {};
      for (const key of keys) {
        await page.getByTestId(`nav-${key}`).click();
        await page.locator('main h2').waitFor();
        const submit = page.locator('main form.toolbar button[type="submit"]');
        if (await submit.count()) await submit.click();
        await page.waitForLoadState('networkidle', { timeout: 10_000 });
        const v = await violations(page);
        if (v.length) found[key] = v;
      }
      expect(found).toEqual({});
      // axe over up to 8 pages: 16 s alone, past 30 s beside the rest of the suite on 2 cores.
    }, 120_000);
  }

  it('finds no serious or critical violation in the approval dialog', async () => {
    const page = await open();
    await page.getByLabel('访问令牌').fill(t.people['officer-rs']!);
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await page.getByRole('button', { name: `批准 ${applicationId}` }).click();
    await page.getByTestId('approve-confirm').waitFor();
    expect(await violations(page)).toEqual([]);
  });
});

describe('keyboard only', () => {
  it('an officer logs in with the token form and opens the approval terms of a pending application', async () => {
    const page = await open();
    const focused = () => page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el ? (el.getAttribute('aria-label') ?? el.id ?? '') || (el.textContent ?? '').trim() : '';
    });
    /** Presses Tab until the focus is on what `is` accepts: at most `limit` times. */
    async function tabTo(is: (label: string) => boolean, limit = 40): Promise<void> {
      for (let i = 0; i < limit; i++) {
        await page.keyboard.press('Tab');
        if (is(await focused())) return;
      }
      throw new Error(`focus never reached the target in ${limit} Tab presses (last: ${await focused()})`);
    }
    await page.getByLabel('访问令牌').waitFor();
    await tabTo((label) => label === 'token');
    await page.keyboard.type(t.people['officer-rs']!);
    await page.keyboard.press('Enter');
    await page.getByTestId('nav-pending').waitFor();
    await tabTo((label) => label === `批准 ${applicationId}`);
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: `批准申请 ${applicationId}` });
    await dialog.waitFor();
    expect(await dialog.isVisible()).toBe(true);
  });
});
