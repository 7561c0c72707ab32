/**
 * "Verify the trail" in the console when the trail was tampered with: the auditor sees that it is
 * broken, which log, what kind of problem and at which record (issue 11: "the result, and where it
 * breaks if it does"). The record is altered directly in MongoDB, as an insider with database
 * access would.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tamperBlock } from '../support/evidence.ts';
import { startTestHub, type TestHub } from '../support/hub.ts';
import { ensureConsoleBuilt, launchChromium, newPage } from './support.ts';

let t: TestHub;
let browser: Browser;

beforeAll(async () => {
  ensureConsoleBuilt();
  t = await startTestHub();
  browser = await launchChromium();
  const ids = t.data.dibaoApplicants.slice(0, 3);
  const res = await t.query(t.tokens.mz, `query ($ids: [String!]!) { access(purpose: "440000-DIBAO-001", caseId: "DB-TAMPER-1", operator: "op") { persons(idNumbers: $ids) { hukou { gender } } } }`, { ids });
  expect(res.body.errors).toBeUndefined();
  await t.hub.runtime.audit.flush();
  await t.hub.runtime.audit.log.checkpoint();
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('an altered record', () => {
  it('is reported by the verify page with its log, the kind of problem and where it is', async () => {
    const log = t.hub.runtime.audit.log.origin;
    let target = -1;
    await tamperBlock(t.hubDb.db, log, 0, (records) => {
      records[1]!['decision'] = 'deny';
      target = records[1]!['seq'] as number;
    });

    const page = await newPage(browser);
    await page.goto(t.url.replace(/\/graphql$/, '/console/'));
    await page.getByLabel('访问令牌').fill(t.people['auditor']!);
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await page.getByTestId('nav-verify').click();
    await page.getByRole('button', { name: '校验审计链' }).click();
    const result = page.getByTestId('verify-result');
    await result.waitFor();
    expect(await result.textContent()).toBe('审计链有问题');
    const row = page.getByRole('row').filter({ hasText: log });
    await expect.poll(() => row.count(), { timeout: 5_000 }).toBe(1);
    expect(await row.textContent()).toContain(`modified · 位置 #${target}`);
  });
});
