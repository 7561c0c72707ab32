/**
 * Working days for application deadlines: weekends and public holidays are skipped, 调休 working
 * weekends count, and a bad calendar file is refused with the file, path and rule.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CALENDAR } from '../../gateway/config.ts';
import { addWorkingDays, dayIn, isOverdue, isWorkingDay, type WorkCalendar } from '../../policies/index.ts';
import { loadWorkCalendar, parseWorkCalendar, type ValidationError } from '../../schema/index.ts';

let cal: WorkCalendar & { years: readonly number[] };
let dir: string;
beforeAll(async () => {
  cal = await loadWorkCalendar(DEFAULT_CALENDAR);
  dir = await mkdtemp(join(tmpdir(), 'hub-calendar-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the bundled 2026 calendar', () => {
  it.each([
    ['2026-01-01', false, '元旦'],
    ['2026-01-04', true, 'Sunday worked (调休)'],
    ['2026-02-14', true, 'Saturday worked before 春节'],
    ['2026-02-16', false, '春节'],
    ['2026-05-09', true, 'Saturday worked after 劳动节'],
    ['2026-10-07', false, '国庆节'],
    ['2026-10-10', true, 'Saturday worked after 国庆'],
    ['2026-11-21', false, 'an ordinary Saturday'],
    ['2026-11-23', true, 'an ordinary Monday'],
  ])('%s is a working day: %s (%s)', (date, working) => {
    expect(isWorkingDay(cal, date)).toBe(working);
  });

  it('covers 2026', () => {
    expect(cal.years).toEqual([2026]);
  });
});

describe('deadlines', () => {
  it.each([
    ['2026-11-23', 10, '2026-12-07', 'two ordinary weeks'],
    ['2026-11-20', 1, '2026-11-23', 'a Friday: the next working day is Monday'],
    ['2026-09-28', 10, '2026-10-16', '国庆 skipped, Saturday 10 October counted'],
    ['2026-09-18', 3, '2026-09-22', 'Sunday 20 September counted (调休)'],
    ['2026-02-13', 5, '2026-02-27', '春节: Saturday 14 Feb counted, 15–23 Feb skipped'],
    ['2026-12-31', 2, '2027-01-04', 'into a year the calendar does not cover: weekdays only'],
  ])('%s + %i working days = %s (%s)', (from, n, due) => {
    expect(addWorkingDays(cal, from, n)).toBe(due);
  });

  it('refuses a count that is not a positive integer', () => {
    expect(() => addWorkingDays(cal, '2026-11-23', 0)).toThrow(RangeError);
    expect(() => addWorkingDays(cal, '2026-11-23', 1.5)).toThrow(RangeError);
  });

  it('is overdue only after the deadline day', () => {
    expect(isOverdue('2026-12-07', '2026-12-07')).toBe(false);
    expect(isOverdue('2026-12-07', '2026-12-08')).toBe(true);
  });
});

describe('the deployment day', () => {
  it('follows the time zone, not UTC', () => {
    // 2026-11-23 17:30 UTC is already 24 November in Shanghai (UTC+8).
    const now = new Date('2026-11-23T17:30:00Z');
    expect(dayIn('Asia/Shanghai', now)).toBe('2026-11-24');
    expect(dayIn('UTC', now)).toBe('2026-11-23');
  });
});

describe('calendar files', () => {
  const violations = (data: unknown) => {
    try {
      parseWorkCalendar(data, 'cal.yaml');
    } catch (error) {
      return (error as ValidationError).violations.map((v) => `${v.path} ${v.rule}`);
    }
    return [];
  };

  it('expands ranges', () => {
    const c = parseWorkCalendar({ holidays: [{ from: '2026-10-01', to: '2026-10-03', name: '国庆' }] }, 'cal.yaml');
    expect([...c.holidays]).toEqual(['2026-10-01', '2026-10-02', '2026-10-03']);
  });

  it.each([
    [{ holidays: ['2026-13-01'] }, ['/holidays/0 format', '/holidays/0 type', '/holidays/0 anyOf']],
    [{ holidays: [{ from: '2026-10-05', to: '2026-10-01' }] }, ['/holidays/0/to order']],
    [{ holidays: [{ from: '2026-01-01', to: '2026-06-01' }] }, ['/holidays/0 range']],
    [{ workdays: ['2026-11-23'] }, ['/workdays weekend']],
    [{ holidays: ['2026-10-10'], workdays: ['2026-10-10'] }, ['/workdays conflict']],
    [{ holiday: [] }, ['/holiday additionalProperties']],
  ])('refuses %j naming the path and rule', (data, expected) => {
    expect(violations(data)).toEqual(expected);
  });

  it('names the file and line of a YAML syntax error', async () => {
    const path = join(dir, 'broken.yaml');
    await writeFile(path, 'holidays: [\n  "2026-01-01"\n');
    await expect(loadWorkCalendar(path)).rejects.toThrow(/broken\.yaml:\d+:\d+: \/ .*\(rule: syntax\)/);
  });
});
