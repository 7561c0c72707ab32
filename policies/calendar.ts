/**
 * Working days (工作日) for application deadlines: Monday to Friday, minus public holidays, plus the
 * weekend days that are working days by the State Council's holiday arrangement (调休). Pure.
 */

export interface WorkCalendar {
  /** Public holidays (YYYY-MM-DD). */
  readonly holidays: ReadonlySet<string>;
  /** Saturdays and Sundays that are working days (调休). */
  readonly workdays: ReadonlySet<string>;
}

export function calendarOf(spec: { readonly holidays?: readonly string[]; readonly workdays?: readonly string[] }): WorkCalendar {
  return { holidays: new Set(spec.holidays ?? []), workdays: new Set(spec.workdays ?? []) };
}

const DAY_MS = 86_400_000;
const toTime = (date: string) => Date.parse(`${date}T00:00:00Z`);
const toDate = (time: number) => new Date(time).toISOString().slice(0, 10);

export function isWorkingDay(cal: WorkCalendar, date: string): boolean {
  if (cal.holidays.has(date)) return false;
  const weekday = new Date(toTime(date)).getUTCDay();
  if (weekday === 0 || weekday === 6) return cal.workdays.has(date);
  return true;
}

/** The n-th working day after `from` (`from` itself not counted): the deadline of an answer. */
export function addWorkingDays(cal: WorkCalendar, from: string, n: number): string {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`working days must be a positive integer, got ${n}`);
  if (Number.isNaN(toTime(from))) throw new RangeError(`not a date: ${from}`);
  let time = toTime(from);
  let counted = 0;
  while (counted < n) {
    time += DAY_MS;
    if (isWorkingDay(cal, toDate(time))) counted++;
  }
  return toDate(time);
}

/** An answer is overdue the day after its deadline. */
export function isOverdue(deadline: string, today: string): boolean {
  return today > deadline;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date (YYYY-MM-DD) of `now` in an IANA time zone (grant periods and quotas follow it). */
export function dayIn(timeZone: string, now: Date = new Date()): string {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, format);
  }
  return format.format(now);
}
