/**
 * The pure parts of the auditors' anomaly flags: working hours, the spans outside them in the
 * deployment's time zone and working-day calendar, the worst purpose window of one data subject,
 * the sensitive-read match and the accepted day ranges.
 */
import { describe, expect, it } from 'vitest';
import { offHoursSpans, parseWorkingHours, rangeProblem, sensitiveMatch, worstWindow, zonedTime } from '../../audit/index.ts';
import { calendarOf, isWorkingDay } from '../../policies/index.ts';

const SHANGHAI = 'Asia/Shanghai';
const at = (iso: string) => new Date(iso);

describe('working hours', () => {
  it('parse to minutes after midnight, up to 24:00', () => {
    expect(parseWorkingHours('08:30-18:00')).toEqual({ start: 510, end: 1080 });
    expect(parseWorkingHours('00:00-24:00')).toEqual({ start: 0, end: 1440 });
  });

  it.each(['18:00-08:30', '08:30-08:30', '24:00-24:00', '8:30-18:00', '08:60-18:00', '08:00-24:01', '08:00-18:00 ', ''])('refuse %j', (spec) => {
    expect(() => parseWorkingHours(spec)).toThrow(RangeError);
  });
});

describe('wall-clock times of a time zone', () => {
  it('convert a day and minutes to the instant, 24:00 being the next midnight', () => {
    expect(zonedTime('2026-03-02', 510, SHANGHAI)).toBe(Date.parse('2026-03-02T00:30:00Z'));
    expect(zonedTime('2026-03-02', 0, SHANGHAI)).toBe(Date.parse('2026-03-01T16:00:00Z'));
    expect(zonedTime('2026-03-02', 1440, SHANGHAI)).toBe(Date.parse('2026-03-02T16:00:00Z'));
  });

  it('follow a daylight-saving change', () => {
    // New York moves from UTC−5 to UTC−4 at 02:00 on 8 March 2026.
    expect(zonedTime('2026-03-07', 540, 'America/New_York')).toBe(Date.parse('2026-03-07T14:00:00Z'));
    expect(zonedTime('2026-03-08', 540, 'America/New_York')).toBe(Date.parse('2026-03-08T13:00:00Z'));
    expect(zonedTime('2026-03-08', 0, 'America/New_York')).toBe(Date.parse('2026-03-08T05:00:00Z'));
  });
});

describe('spans outside working hours', () => {
  const hours = parseWorkingHours('08:30-18:00');
  const cal = calendarOf({ holidays: ['2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06', '2026-10-07'], workdays: ['2026-10-10'] });
  const working = (day: string) => isWorkingDay(cal, day);

  it('are the night before and after each working day, and whole weekends, joined', () => {
    // Friday 6 March to Monday 9 March 2026.
    expect(offHoursSpans('2026-03-06', '2026-03-09', hours, working, SHANGHAI)).toEqual([
      { from: at('2026-03-05T16:00:00Z'), to: at('2026-03-06T00:30:00Z') },
      { from: at('2026-03-06T10:00:00Z'), to: at('2026-03-09T00:30:00Z') },
      { from: at('2026-03-09T10:00:00Z'), to: at('2026-03-09T16:00:00Z') },
    ]);
  });

  it('cover public holidays whole, and treat a 调休 Saturday as a working day', () => {
    expect(offHoursSpans('2026-10-01', '2026-10-01', hours, working, SHANGHAI)).toEqual([{ from: at('2026-09-30T16:00:00Z'), to: at('2026-10-01T16:00:00Z') }]);
    // Friday 9 and Saturday 10 October (调休): both have working hours.
    expect(offHoursSpans('2026-10-09', '2026-10-10', hours, working, SHANGHAI)).toEqual([
      { from: at('2026-10-08T16:00:00Z'), to: at('2026-10-09T00:30:00Z') },
      { from: at('2026-10-09T10:00:00Z'), to: at('2026-10-10T00:30:00Z') },
      { from: at('2026-10-10T10:00:00Z'), to: at('2026-10-10T16:00:00Z') },
    ]);
  });

  it('are none when every day of the range is a working day worked around the clock', () => {
    expect(offHoursSpans('2026-03-02', '2026-03-06', parseWorkingHours('00:00-24:00'), working, SHANGHAI)).toEqual([]);
    // A Sunday in the range is off whole even then.
    expect(offHoursSpans('2026-03-06', '2026-03-09', parseWorkingHours('00:00-24:00'), working, SHANGHAI)).toEqual([
      { from: at('2026-03-06T16:00:00Z'), to: at('2026-03-08T16:00:00Z') },
    ]);
  });
});

describe('the worst purpose window of one data subject', () => {
  const themes: Record<string, string> = { 'CSYJS-1': '出生一件事', 'CSYJS-2': '出生一件事', DIBAO: '社会救助' };
  const themeOf = (p: string) => themes[p] ?? p;
  const options = { from: '2026-03-01', to: '2026-03-31', windowDays: 30, themeOf };

  it('counts related purposes (one theme) once, and a purpose without theme as its own', () => {
    const related = [
      { day: '2026-03-02', purpose: 'CSYJS-1', count: 2 },
      { day: '2026-03-03', purpose: 'CSYJS-2', count: 1 },
      { day: '2026-03-04', purpose: 'DIBAO', count: 1 },
    ];
    expect(worstWindow(related, options)).toEqual({ from: '2026-03-02', to: '2026-03-04', purposes: ['CSYJS-1', 'CSYJS-2', 'DIBAO'], themes: ['出生一件事', '社会救助'], records: 4 });
    expect(worstWindow([...related, { day: '2026-03-05', purpose: 'GAJC', count: 1 }], options)).toEqual({
      from: '2026-03-02', to: '2026-03-05', purposes: ['CSYJS-1', 'CSYJS-2', 'DIBAO', 'GAJC'], themes: ['GAJC', '出生一件事', '社会救助'], records: 5,
    });
  });

  it('keeps to windows of the given length, ending on a day of the range', () => {
    const apart = [
      { day: '2026-01-20', purpose: 'GAJC', count: 1 },
      { day: '2026-03-02', purpose: 'CSYJS-1', count: 1 },
      { day: '2026-03-20', purpose: 'DIBAO', count: 1 },
    ];
    // 20 January is more than 30 days before any day of March on which the subject was read.
    expect(worstWindow(apart, options)).toEqual({ from: '2026-03-02', to: '2026-03-20', purposes: ['CSYJS-1', 'DIBAO'], themes: ['出生一件事', '社会救助'], records: 2 });
    // A 60-day window ending on 20 March reaches back to 20 January; one of 59 days does not.
    expect(worstWindow(apart, { ...options, windowDays: 60 })).toEqual({
      from: '2026-01-20', to: '2026-03-20', purposes: ['CSYJS-1', 'DIBAO', 'GAJC'], themes: ['GAJC', '出生一件事', '社会救助'], records: 3,
    });
    expect(worstWindow(apart, { ...options, windowDays: 59 })!.themes).toHaveLength(2);
    // Reads only before the range flag nothing in it.
    expect(worstWindow([{ day: '2026-02-27', purpose: 'GAJC', count: 1 }], options)).toBeNull();
  });

  it('prefers the earliest of equally bad windows', () => {
    const reads = [
      { day: '2026-03-01', purpose: 'GAJC', count: 1 },
      { day: '2026-03-02', purpose: 'DIBAO', count: 1 },
      { day: '2026-03-10', purpose: 'CSYJS-1', count: 1 },
    ];
    expect(worstWindow(reads, { ...options, windowDays: 2 })).toEqual({ from: '2026-03-01', to: '2026-03-02', purposes: ['DIBAO', 'GAJC'], themes: ['GAJC', '社会救助'], records: 2 });
  });
});

describe('the sensitive-read match', () => {
  it('matches served sensitive or biometric items, and verified biometric ones only', () => {
    const classified = new Map([
      ['RS-SOCIAL-INSURANCE', { sensitive: ['monthlyBase'], biometric: [] }],
      ['GA-FACE', { sensitive: [], biometric: ['photo'] }],
      ['SJ-LICENCE', { sensitive: [], biometric: [] }],
    ]);
    expect(sensitiveMatch(classified)).toEqual({
      $or: [
        { 'records.resource': 'RS-SOCIAL-INSURANCE', $or: [{ 'records.itemsReturned': { $in: ['monthlyBase'] } }, { 'records.itemsMasked': { $in: ['monthlyBase'] } }] },
        {
          'records.resource': 'GA-FACE',
          $or: [{ 'records.itemsReturned': { $in: ['photo'] } }, { 'records.itemsMasked': { $in: ['photo'] } }, { 'records.itemsVerified': { $in: ['photo'] } }],
        },
      ],
    });
    expect(sensitiveMatch(classified, 'GA-FACE')!['$or']).toHaveLength(1);
    expect(sensitiveMatch(new Map([['SJ-LICENCE', { sensitive: [], biometric: [] }]]))).toBeNull();
  });
});

describe('day ranges', () => {
  it('accept real dates, in order, at most 366 days', () => {
    expect(rangeProblem('2026-03-01', '2026-03-01')).toBeNull();
    expect(rangeProblem('2028-01-01', '2028-12-31')).toBeNull();
    expect(rangeProblem('2026-01-01', '2027-01-02')).toBe('The range may cover at most 366 days.');
    expect(rangeProblem('2026-02-30', '2026-03-01')).toBe('from must be a date YYYY-MM-DD.');
    expect(rangeProblem('2026-03-01', 'tomorrow')).toBe('to must be a date YYYY-MM-DD.');
    expect(rangeProblem('2026-03-02', '2026-03-01')).toBe('to is before from.');
  });
});
