/**
 * Working days (工作日) for application deadlines: Monday to Friday, minus public holidays (法定节假日),
 * plus the weekend days that are working days by the State Council's holiday arrangement (调休).
 * Dates are calendar dates (YYYY-MM-DD); weekdays are computed in UTC so no time zone can shift them.
 * Pure, except that `dayIn` reads the clock when no instant is given.
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
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const dateOf = (time: number): string => new Date(time).toISOString().slice(0, 10);

/** Midnight UTC of a calendar date; RangeError for anything that is not a real YYYY-MM-DD date. */
function timeOf(date: string): number {
  const time = DATE.test(date) ? Date.parse(`${date}T00:00:00Z`) : Number.NaN;
  // Date.parse rolls 2026-02-30 over to 2 March: a real date formats back to itself.
  if (Number.isNaN(time) || dateOf(time) !== date) throw new RangeError(`not a calendar date (YYYY-MM-DD): ${JSON.stringify(date)}`);
  return time;
}

/** The calendar date `n` days before a YYYY-MM-DD date; RangeError for anything that is not one. */
export const daysBefore = (date: string, n: number): string => dateOf(timeOf(date) - n * DAY_MS);

/** 0 = Sunday … 6 = Saturday. */
const weekdayOf = (time: number): number => new Date(time).getUTCDay();

function workingAt(cal: WorkCalendar, date: string, time: number): boolean {
  if (cal.holidays.has(date)) return false;
  const weekday = weekdayOf(time);
  if (weekday === 0 || weekday === 6) return cal.workdays.has(date);
  return true;
}

/** Monday to Friday unless a public holiday; Saturday and Sunday only when a 调休 working day. */
export function isWorkingDay(cal: WorkCalendar, date: string): boolean {
  return workingAt(cal, date, timeOf(date));
}

/** The n-th working day after `from` (`from` itself not counted): the deadline of an answer. */
export function addWorkingDays(cal: WorkCalendar, from: string, n: number): string {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`working days must be a positive integer, got ${n}`);
  let time = timeOf(from);
  let counted = 0;
  while (counted < n) {
    time += DAY_MS;
    if (workingAt(cal, dateOf(time), time)) counted++;
  }
  return dateOf(time);
}

/** An answer is overdue from the day after its deadline (the deadline day itself is still in time). */
export function isOverdue(deadline: string, today: string): boolean {
  return today > deadline;
}

/** One formatter per time zone: building one costs far more than using it, and this is on every request. */
const formatters = new Map<string, Intl.DateTimeFormat>();
/** The last answer per time zone, by UTC minute: every request asks for the same day. */
const lastDay = new Map<string, { minute: number; day: string }>();
/** Since 1980 every zone's UTC offset is whole minutes, so a UTC minute lies within one local day. */
const WHOLE_MINUTE_OFFSETS_SINCE = Date.UTC(1980, 0, 1);

/**
 * The calendar date (YYYY-MM-DD) of `now` in an IANA time zone (grant periods, quotas and deadlines
 * follow the deployment's day, not UTC's). RangeError for an unknown time zone.
 */
export function dayIn(timeZone: string, now: Date = new Date()): string {
  const ms = now.getTime();
  const minute = Math.floor(ms / 60_000);
  const cached = lastDay.get(timeZone);
  if (cached !== undefined && cached.minute === minute) return cached.day;
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, format);
  }
  // Assembled from parts: the locale's pattern (today year-month-day) is not a contract.
  let year = '';
  let month = '';
  let day = '';
  for (const part of format.formatToParts(now)) {
    if (part.type === 'year') year = part.value;
    else if (part.type === 'month') month = part.value;
    else if (part.type === 'day') day = part.value;
  }
  const result = `${year}-${month}-${day}`;
  if (ms >= WHOLE_MINUTE_OFFSETS_SINCE) lastDay.set(timeZone, { minute, day: result });
  return result;
}
