/**
 * Data quality (数据质量), pure: how fresh a resource's data is against the update frequency its
 * catalogue entry declares, the validity rate of served values, and the period of a report.
 *
 * Freshness. A resource declares `updateFrequency` (realtime … yearly, or irregular). The source
 * says, where it can, when its data last changed (a file's modification time, the latest value of a
 * SQL dataset's `updatedAtColumn`); REST services, MongoDB collections and other hubs cannot say,
 * and their freshness is `unknown`, never guessed. Data is fresh while its age is within the
 * declared period plus half a period of grace (one missed update makes it stale before the next is
 * due); realtime data, served from a copy the source can date, must be at most an hour old.
 */

export type FreshnessStatus = 'fresh' | 'stale' | 'unknown' | 'undeclared';

const HOUR = 3600;
const DAY = 24 * HOUR;

/** The oldest data still fresh, in seconds, per declared update frequency. `irregular` has none. */
export const FRESHNESS_MAX_AGE_SECONDS: Readonly<Record<string, number>> = {
  realtime: HOUR,
  hourly: 1.5 * HOUR,
  daily: 1.5 * DAY,
  weekly: 10.5 * DAY,
  monthly: 45 * DAY,
  quarterly: 137 * DAY,
  yearly: 548 * DAY,
};

/** When the source's data last changed, as its connector can tell, and how it knows. */
export interface SourceChange {
  readonly at: Date;
  readonly basis: string;
}

export interface Freshness {
  readonly status: FreshnessStatus;
  readonly updateFrequency: string | null;
  readonly lastChanged: Date | null;
  /** How the hub knows when the data last changed (a file's modification time, a column), or null. */
  readonly basis: string | null;
  readonly maxAgeSeconds: number | null;
  readonly ageSeconds: number | null;
  /** One sentence a person can read. */
  readonly detail: string;
}

/**
 * The freshness of a resource's data now. `change` is null when the source cannot tell, and a
 * string (why) when asking it failed.
 */
export function freshnessOf(updateFrequency: string | null | undefined, change: SourceChange | null | string, now: Date): Freshness {
  const frequency = updateFrequency ?? null;
  const known = change !== null && typeof change === 'object' ? change : null;
  const ageSeconds = known ? Math.max(0, Math.floor((now.getTime() - known.at.getTime()) / 1000)) : null;
  const base = { updateFrequency: frequency, lastChanged: known?.at ?? null, basis: known?.basis ?? null, ageSeconds };
  const maxAge = frequency === null ? undefined : FRESHNESS_MAX_AGE_SECONDS[frequency];
  if (maxAge === undefined) {
    const declared = frequency === null ? 'declares no update frequency' : `declares its updates ${frequency}`;
    return { ...base, status: 'undeclared', maxAgeSeconds: null, detail: `The resource ${declared}: there is no expectation to judge its freshness against.` };
  }
  if (!known) {
    const why = typeof change === 'string' ? `the source could not be asked (${change})` : 'its source cannot tell when its data last changed';
    return { ...base, status: 'unknown', maxAgeSeconds: maxAge, detail: `Freshness is unknown: ${why}.` };
  }
  const fresh = ageSeconds! <= maxAge;
  return {
    ...base,
    status: fresh ? 'fresh' : 'stale',
    maxAgeSeconds: maxAge,
    detail: fresh
      ? `Last changed ${describeAge(ageSeconds!)} ago, within the ${describeAge(maxAge)} a ${frequency} resource allows.`
      : `Last changed ${describeAge(ageSeconds!)} ago, more than the ${describeAge(maxAge)} a ${frequency} resource allows.`,
  };
}

function describeAge(seconds: number): string {
  if (seconds < 2 * HOUR) return `${Math.round(seconds / 60)} min`;
  if (seconds < 3 * DAY) return `${Math.round((seconds / HOUR) * 10) / 10} h`;
  return `${Math.round((seconds / DAY) * 10) / 10} days`;
}

/** Valid values among those checked; null when nothing was checked. */
export function validityRate(valid: number, invalid: number): number | null {
  const checked = valid + invalid;
  return checked === 0 ? null : valid / checked;
}

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isDate(value: string): boolean {
  const time = DATE.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 10) === value;
}

export const shiftDay = (day: string, days: number): string => new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

/**
 * The days a report covers: `to` defaults to today, `from` to `defaultDays` days ending at `to`;
 * both inclusive, at most `maxDays` days. A problem names the argument and what is wrong.
 */
export function reportPeriod(
  from: string | null | undefined,
  to: string | null | undefined,
  today: string,
  options: { readonly defaultDays: number; readonly maxDays: number },
): { ok: true; from: string; to: string } | { ok: false; argument: string; message: string } {
  if (to && !isDate(to)) return { ok: false, argument: 'to', message: `to must be a date YYYY-MM-DD, got "${to.slice(0, 40)}".` };
  if (from && !isDate(from)) return { ok: false, argument: 'from', message: `from must be a date YYYY-MM-DD, got "${from.slice(0, 40)}".` };
  const end = to || today;
  const start = from || shiftDay(end, -(options.defaultDays - 1));
  if (start > end) return { ok: false, argument: 'from', message: `from (${start}) is after to (${end}).` };
  const days = Math.round((Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / DAY_MS) + 1;
  if (days > options.maxDays) return { ok: false, argument: 'from', message: `A report covers at most ${options.maxDays} days; ${start} to ${end} is ${days}.` };
  return { ok: true, from: start, to: end };
}
