/**
 * Working days for application deadlines: weekends and public holidays are skipped, 调休 working
 * weekends count, and a bad calendar file is refused with the file, path and rule.
 * Weekdays of 2026 used here: 1 January is a Thursday; 28 September a Monday; 10 October a Saturday.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CALENDAR } from '../../gateway/config.ts';
import { addWorkingDays, calendarOf, dayIn, daysBefore, isOverdue, isWorkingDay } from '../../policies/index.ts';
import { loadWorkCalendar, parseWorkCalendar, ValidationError, type LoadedCalendar } from '../../schema/index.ts';

let cal: LoadedCalendar;
let dir: string;
beforeAll(async () => {
  cal = await loadWorkCalendar(DEFAULT_CALENDAR);
  dir = await mkdtemp(join(tmpdir(), 'hub-calendar-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the bundled 2026 calendar', () => {
  it.each([
    ['2025-12-31', true, 'a Wednesday before 元旦 (2025 not covered: weekdays only)'],
    ['2026-01-01', false, '元旦, Thursday'],
    ['2026-01-02', false, '元旦, Friday'],
    ['2026-01-03', false, '元旦, Saturday'],
    ['2026-01-04', true, 'Sunday worked after 元旦 (调休)'],
    ['2026-01-05', true, 'an ordinary Monday'],
    ['2026-02-13', true, 'the Friday before 春节'],
    ['2026-02-14', true, 'Saturday worked before 春节'],
    ['2026-02-15', false, '春节, first day'],
    ['2026-02-18', false, '春节, a Wednesday'],
    ['2026-02-23', false, '春节, last day (Monday)'],
    ['2026-02-24', true, 'the Tuesday after 春节'],
    ['2026-02-28', true, 'Saturday worked after 春节'],
    ['2026-03-01', false, 'the Sunday after it'],
    ['2026-04-04', false, '清明, Saturday'],
    ['2026-04-06', false, '清明, Monday'],
    ['2026-04-07', true, 'the Tuesday after 清明'],
    ['2026-05-01', false, '劳动节, Friday'],
    ['2026-05-05', false, '劳动节, Tuesday'],
    ['2026-05-06', true, 'the Wednesday after 劳动节'],
    ['2026-05-09', true, 'Saturday worked after 劳动节'],
    ['2026-05-10', false, 'the Sunday after it'],
    ['2026-06-19', false, '端午, Friday'],
    ['2026-06-22', true, 'the Monday after 端午'],
    ['2026-09-20', true, 'Sunday worked before 国庆'],
    ['2026-09-25', false, '中秋, Friday'],
    ['2026-09-28', true, 'the Monday after 中秋'],
    ['2026-10-01', false, '国庆, Thursday'],
    ['2026-10-07', false, '国庆, last day (Wednesday)'],
    ['2026-10-08', true, 'the Thursday after 国庆'],
    ['2026-10-10', true, 'Saturday worked after 国庆'],
    ['2026-10-11', false, 'the Sunday after it'],
    ['2026-11-21', false, 'an ordinary Saturday'],
    ['2026-11-22', false, 'an ordinary Sunday'],
    ['2026-11-23', true, 'an ordinary Monday'],
  ])('%s is a working day: %s (%s)', (date, working) => {
    expect(isWorkingDay(cal, date)).toBe(working);
  });

  it('covers 2026 only', () => {
    expect(cal.years).toEqual([2026]);
  });

  it('has the 33 holidays of the 2026 arrangement', () => {
    expect(cal.holidays.size).toBe(33);
  });

  it('has its six 调休 working weekend days', () => {
    expect([...cal.workdays].sort()).toEqual(['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10']);
  });
});

describe('deadlines', () => {
  it.each([
    ['2026-11-23', 10, '2026-12-07', 'two ordinary weeks'],
    ['2026-11-23', 1, '2026-11-24', 'the next day'],
    ['2026-11-20', 1, '2026-11-23', 'a Friday: the next working day is Monday'],
    ['2026-11-21', 1, '2026-11-23', 'submitted on a Saturday'],
    ['2026-09-28', 10, '2026-10-16', '国庆 1–7 October skipped, Saturday 10 October counted'],
    ['2026-09-28', 5, '2026-10-10', 'the 5th working day is the 调休 Saturday'],
    ['2026-09-18', 3, '2026-09-22', 'Sunday 20 September counted (调休)'],
    ['2026-09-24', 1, '2026-09-28', '中秋 25–27 September skipped'],
    ['2026-02-13', 5, '2026-02-27', '春节: Saturday 14 Feb counted, 15–23 Feb skipped'],
    ['2026-02-27', 1, '2026-02-28', 'Saturday 28 February counted'],
    ['2026-04-03', 1, '2026-04-07', '清明 4–6 April skipped'],
    ['2026-04-30', 1, '2026-05-06', '劳动节 1–5 May skipped'],
    ['2026-04-30', 4, '2026-05-09', 'Saturday 9 May counted'],
    ['2026-06-18', 1, '2026-06-22', '端午 19–21 June skipped'],
    ['2025-12-31', 1, '2026-01-04', '元旦 skipped, Sunday 4 January counted'],
    ['2026-12-31', 2, '2027-01-04', 'into a year the calendar does not cover: weekdays only'],
  ])('%s + %i working days = %s (%s)', (from, n, due) => {
    expect(addWorkingDays(cal, from, n)).toBe(due);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses a count of %s', (n) => {
    expect(() => addWorkingDays(cal, '2026-11-23', n)).toThrow(RangeError);
  });

  it.each(['2026-02-30', '2026-13-01', '26-11-23', '2026-11-23T00:00:00Z', ''])('refuses the start date %j', (from) => {
    expect(() => addWorkingDays(cal, from, 1)).toThrow(RangeError);
  });

  it('refuses to say whether a non-date is a working day', () => {
    expect(() => isWorkingDay(cal, '2026-02-29')).toThrow(RangeError);
  });

  it('counts Monday to Friday with an empty calendar', () => {
    expect(addWorkingDays(calendarOf({}), '2026-09-28', 10)).toBe('2026-10-12');
  });

  it.each([
    ['2026-12-07', '2026-12-06', false, 'before the deadline'],
    ['2026-12-07', '2026-12-07', false, 'on the deadline day'],
    ['2026-12-07', '2026-12-08', true, 'the day after'],
    ['2026-12-31', '2027-01-01', true, 'across a year'],
  ])('deadline %s, today %s: overdue %s (%s)', (deadline, today, overdue) => {
    expect(isOverdue(deadline, today)).toBe(overdue);
  });
});

describe('days before a date', () => {
  it('counts calendar days across months, leap days and years', () => {
    expect(['2026-03-01', '2024-03-01', '2027-01-01', '2026-12-07'].map((d) => daysBefore(d, 1))).toEqual(['2026-02-28', '2024-02-29', '2026-12-31', '2026-12-06']);
    expect(daysBefore('2026-12-07', 400)).toBe('2025-11-02');
  });

  it('refuses what is not a calendar date with a RangeError', () => {
    for (const bad of ['2026-02-30', '2026-12-7', 'today']) expect(() => daysBefore(bad, 1)).toThrow(RangeError);
  });
});

describe('the deployment day', () => {
  // 2026-11-23 17:30 UTC is already 24 November in Shanghai (UTC+8).
  const now = new Date('2026-11-23T17:30:00Z');

  it('follows the time zone, not UTC', () => {
    expect(dayIn('Asia/Shanghai', now)).toBe('2026-11-24');
  });

  it('is the UTC date in UTC', () => {
    expect(dayIn('UTC', now)).toBe('2026-11-23');
  });

  it('is the earlier date west of Greenwich', () => {
    expect(dayIn('America/Los_Angeles', new Date('2026-01-01T05:00:00Z'))).toBe('2025-12-31');
  });

  it('gives the same answer from its cached formatter', () => {
    expect([dayIn('Asia/Shanghai', now), dayIn('Asia/Shanghai', now)]).toEqual(['2026-11-24', '2026-11-24']);
  });

  it('turns at local midnight to the second, from one answer per minute it keeps', () => {
    // Midnight in Shanghai is 16:00:00 UTC: the last second before and the first after, each asked
    // right after another instant of the same UTC minute.
    expect([dayIn('Asia/Shanghai', new Date('2026-11-23T15:59:00Z')), dayIn('Asia/Shanghai', new Date('2026-11-23T15:59:59.999Z'))]).toEqual(['2026-11-23', '2026-11-23']);
    expect([dayIn('Asia/Shanghai', new Date('2026-11-23T16:00:00Z')), dayIn('Asia/Shanghai', new Date('2026-11-23T16:00:59Z'))]).toEqual(['2026-11-24', '2026-11-24']);
    // Kathmandu is UTC+05:45: its midnight is 18:15 UTC, inside no other zone's hour.
    expect([dayIn('Asia/Kathmandu', new Date('2026-11-23T18:14:59Z')), dayIn('Asia/Kathmandu', new Date('2026-11-23T18:15:00Z'))]).toEqual(['2026-11-23', '2026-11-24']);
    // Zones do not share answers.
    expect([dayIn('UTC', new Date('2026-11-23T18:15:00Z')), dayIn('Asia/Kathmandu', new Date('2026-11-23T18:15:30Z'))]).toEqual(['2026-11-23', '2026-11-24']);
  });

  it('refuses an unknown time zone', () => {
    expect(() => dayIn('Mars/Olympus_Mons', now)).toThrow(RangeError);
  });
});

describe('calendar data', () => {
  const violations = (data: unknown): string[] => {
    try {
      parseWorkCalendar(data, 'cal.yaml');
    } catch (error) {
      if (error instanceof ValidationError) return error.violations.map((v) => `${v.where} ${v.path} ${v.rule}`);
      throw error;
    }
    return [];
  };

  it('expands ranges', () => {
    const c = parseWorkCalendar({ holidays: [{ from: '2026-10-01', to: '2026-10-03', name: '国庆' }] }, 'cal.yaml');
    expect([...c.holidays]).toEqual(['2026-10-01', '2026-10-02', '2026-10-03']);
  });

  it('accepts a one-day range', () => {
    expect([...parseWorkCalendar({ holidays: [{ from: '2026-10-01', to: '2026-10-01' }] }, 'cal.yaml').holidays]).toEqual(['2026-10-01']);
  });

  it('accepts a range of exactly 60 days', () => {
    expect(parseWorkCalendar({ holidays: [{ from: '2026-01-01', to: '2026-03-01' }] }, 'cal.yaml').holidays.size).toBe(60);
  });

  it('accepts a 调休 weekend range', () => {
    expect([...parseWorkCalendar({ workdays: [{ from: '2026-10-10', to: '2026-10-11' }] }, 'cal.yaml').workdays]).toEqual(['2026-10-10', '2026-10-11']);
  });

  it('lists the years it mentions in order', () => {
    expect(parseWorkCalendar({ holidays: ['2027-01-01', { from: '2025-12-31', to: '2026-01-01' }] }, 'cal.yaml').years).toEqual([2025, 2026, 2027]);
  });

  it.each([null, {}])('takes %j for an empty calendar', (data) => {
    const c = parseWorkCalendar(data, 'cal.yaml');
    expect([c.holidays.size, c.workdays.size, c.years]).toEqual([0, 0, []]);
  });

  it.each<[string, unknown, string[]]>([
    ['an impossible date', { holidays: ['2026-13-01'] }, ['cal.yaml /holidays/0 format']],
    ['29 February of a common year', { holidays: ['2026-02-29'] }, ['cal.yaml /holidays/0 format']],
    ['a number', { holidays: [20260101] }, ['cal.yaml /holidays/0 type']],
    ['a range without its end', { holidays: [{ from: '2026-10-01' }] }, ['cal.yaml /holidays/0/to required']],
    ['a range with a bad end', { holidays: [{ from: '2026-10-01', to: '2026-10-32' }] }, ['cal.yaml /holidays/0/to format']],
    ['a range with an unknown key', { holidays: [{ from: '2026-10-01', to: '2026-10-03', note: 'x' }] }, ['cal.yaml /holidays/0/note additionalProperties']],
    ['a range with an empty name', { holidays: [{ from: '2026-10-01', to: '2026-10-03', name: '' }] }, ['cal.yaml /holidays/0/name minLength']],
    ['a list that is not a list', { workdays: '2026-10-10' }, ['cal.yaml /workdays type']],
    ['an unknown top-level key', { holiday: [] }, ['cal.yaml /holiday additionalProperties']],
    ['a file that is a list', ['2026-01-01'], ['cal.yaml  type']],
    ['a range ending before it starts', { holidays: [{ from: '2026-10-05', to: '2026-10-01' }] }, ['cal.yaml /holidays/0/to order']],
    ['a range of 61 days', { holidays: [{ from: '2026-01-01', to: '2026-03-02' }] }, ['cal.yaml /holidays/0 range']],
    ['a range of five months', { holidays: ['2026-01-01', { from: '2026-01-01', to: '2026-06-01' }] }, ['cal.yaml /holidays/1 range']],
    ['a working day on a Monday', { workdays: ['2026-10-10', '2026-11-23'] }, ['cal.yaml /workdays/1 weekend']],
    ['a working range reaching a Monday', { workdays: [{ from: '2026-10-10', to: '2026-10-12' }] }, ['cal.yaml /workdays/0 weekend']],
    ['a date both holiday and working day', { holidays: ['2026-10-10'], workdays: ['2026-10-10'] }, ['cal.yaml /workdays/0 conflict']],
    ['a working day inside a holiday range', { holidays: [{ from: '2026-10-01', to: '2026-10-07' }], workdays: ['2026-10-03'] }, ['cal.yaml /workdays/0 conflict']],
    ['a weekday both holiday and working day', { holidays: ['2026-11-23'], workdays: ['2026-11-23'] }, ['cal.yaml /workdays/0 weekend', 'cal.yaml /workdays/0 conflict']],
  ])('refuses %s, naming the path and rule', (_name, data, expected) => {
    expect(violations(data)).toEqual(expected);
  });

  it('says which entry a conflicting working day collides with', () => {
    expect(() => parseWorkCalendar({ holidays: ['2026-01-01', { from: '2026-10-01', to: '2026-10-07' }], workdays: ['2026-10-03'] }, 'cal.yaml'))
      .toThrow('cal.yaml: /workdays/0 2026-10-03 is also a holiday (/holidays/1): a date is either a holiday or a working day (rule: conflict)');
  });

  it('tells the operator what a weekday working day breaks', () => {
    expect(() => parseWorkCalendar({ workdays: ['2026-11-23'] }, 'cal.yaml'))
      .toThrow('cal.yaml: /workdays/0 2026-11-23 is not a Saturday or Sunday: only a weekend day can be a 调休 working day (rule: weekend)');
  });
});

describe('calendar files', () => {
  it('loads YAML with comments and ranges', async () => {
    const path = join(dir, 'ok.yaml');
    await writeFile(path, '# 节假日安排\nholidays:\n  - { from: "2027-01-01", to: "2027-01-03", name: 元旦 }\nworkdays:\n  - 2027-01-09 # 星期六\n');
    const c = await loadWorkCalendar(path);
    expect([[...c.holidays], [...c.workdays], c.years]).toEqual([['2027-01-01', '2027-01-02', '2027-01-03'], ['2027-01-09'], [2027]]);
  });

  it('loads JSON', async () => {
    const path = join(dir, 'ok.json');
    await writeFile(path, JSON.stringify({ holidays: ['2027-10-01'] }));
    expect([...(await loadWorkCalendar(path)).holidays]).toEqual(['2027-10-01']);
  });

  it('takes an empty file for an empty calendar', async () => {
    const path = join(dir, 'empty.yaml');
    await writeFile(path, '# nothing published yet\n');
    expect((await loadWorkCalendar(path)).years).toEqual([]);
  });

  it('names the file in a violation', async () => {
    const path = join(dir, 'weekday.yaml');
    await writeFile(path, 'workdays: ["2026-11-23"]\n');
    await expect(loadWorkCalendar(path)).rejects.toThrow(`${path}: /workdays/0 2026-11-23 is not a Saturday or Sunday`);
  });

  it('names the file, line and column of a YAML syntax error', async () => {
    const path = join(dir, 'broken.yaml');
    await writeFile(path, 'holidays: [\n  "2026-01-01"\n');
    await expect(loadWorkCalendar(path)).rejects.toThrow(/broken\.yaml:\d+:\d+: \/ .*\(rule: syntax\)/);
  });

  it('names a file that cannot be read', async () => {
    await expect(loadWorkCalendar(join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml: \/ cannot be read \(ENOENT\) \(rule: readable\)/);
  });
});
