/**
 * The console's days are the hub's calendar days (`timeZone`), not UTC's nor the browser's: the
 * anomaly flags and statistics pages open on the hub's today. Found when the browser tests ran
 * after midnight in Shanghai (before 08:00 there, UTC's date is still yesterday, and today's
 * anomalies were outside the page's default range). The hub's zone is chosen so that its date
 * differs from UTC's at the time the test runs.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.ts';
import { ensureConsoleBuilt, launchChromium, newPage } from './support.ts';

// UTC+14 is a day ahead of UTC from 10:00 UTC on; UTC−12 a day behind until 12:00 UTC.
const timeZone = new Date().getUTCHours() >= 12 ? 'Pacific/Kiritimati' : 'Etc/GMT+12';

let t: TestHub;
let browser: Browser;

beforeAll(async () => {
  ensureConsoleBuilt();
  t = await startTestHub({ config: { timeZone } });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe(`a hub in ${timeZone}`, () => {
  it("opens the anomaly flags and statistics on the hub's today, a day apart from UTC's", async () => {
    const today = t.hub.runtime.today();
    expect(today).not.toBe(new Date().toISOString().slice(0, 10));
    const page = await newPage(browser);
    await page.goto(t.url.replace(/\/graphql$/, '/console/'));
    await page.getByLabel('访问令牌').fill(t.people['auditor']!);
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await page.getByTestId('nav-anomalies').click();
    expect(await page.locator('#an-to').inputValue()).toBe(today);
    await page.getByTestId('nav-stats').click();
    expect(await page.locator('#st-to').inputValue()).toBe(today);
  });
});
