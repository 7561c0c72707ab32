/**
 * Loads the working-day calendar file (工作日历: public holidays and 调休 working weekends) and
 * validates it like every other input: JSON Schema first, then the rules a schema cannot express
 * (range order and length, a date both holiday and working day, a 调休 working day on a weekday),
 * each violation named by file, JSON path and rule.
 *
 *   holidays: ["2026-01-01", { from: "2026-02-15", to: "2026-02-23", name: 春节 }, …]
 *   workdays: ["2026-01-04", …]
 */
import { calendarOf, type WorkCalendar } from '../policies/calendar.ts';
import { createAjv, toViolations, ValidationError, type Violation } from './ajv.ts';
import { readYamlFile } from './yaml.ts';

/** Longest range one entry may cover, in days (both ends included): 春节 is nine. */
const MAX_RANGE_DAYS = 60;

const date = { type: 'string', format: 'date' } as const;
const range = {
  type: 'object',
  required: ['from', 'to'],
  additionalProperties: false,
  properties: { from: date, to: date, name: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;
// if/then/else rather than anyOf: a bad date is reported once, as a bad date, not as three failed branches.
const entry = { if: { type: 'string' }, then: date, else: range } as const;

const validate = createAjv().compile({
  type: 'object',
  additionalProperties: false,
  properties: {
    holidays: { type: 'array', items: entry },
    workdays: { type: 'array', items: entry },
  },
});

type Entry = string | { readonly from: string; readonly to: string; readonly name?: string };
type Key = 'holidays' | 'workdays';

const DAY_MS = 86_400_000;
const timeOf = (d: string): number => Date.parse(`${d}T00:00:00Z`);
const dateOf = (time: number): string => new Date(time).toISOString().slice(0, 10);

/** Each date a list names, with the JSON path of the entry that named it. */
function expand(list: readonly Entry[], key: Key, where: string, violations: Violation[]): Map<string, string> {
  const dates = new Map<string, string>();
  list.forEach((e, i) => {
    const path = `/${key}/${i}`;
    if (typeof e === 'string') {
      if (!dates.has(e)) dates.set(e, path);
      return;
    }
    const from = timeOf(e.from);
    const to = timeOf(e.to);
    const days = (to - from) / DAY_MS + 1;
    if (to < from) violations.push({ where, path: `${path}/to`, rule: 'order', message: `${e.to} is before from (${e.from})` });
    else if (days > MAX_RANGE_DAYS) violations.push({ where, path, rule: 'range', message: `covers ${days} days; a range may cover at most ${MAX_RANGE_DAYS}` });
    else for (let t = from; t <= to; t += DAY_MS) if (!dates.has(dateOf(t))) dates.set(dateOf(t), path);
  });
  return dates;
}

export type LoadedCalendar = WorkCalendar & {
  /** Years the file mentions: the hub warns when the current year is not among them. */
  readonly years: readonly number[];
};

/** Validates calendar data (already parsed); `where` is how violations name its source. */
export function parseWorkCalendar(data: unknown, where: string): LoadedCalendar {
  // An empty file is an empty calendar (weekdays only), which the hub then warns about.
  const value = data ?? {};
  if (!validate(value)) throw new ValidationError(toViolations(where, validate.errors));
  const spec = value as { holidays?: Entry[]; workdays?: Entry[] };
  const violations: Violation[] = [];
  const holidays = expand(spec.holidays ?? [], 'holidays', where, violations);
  const workdays = expand(spec.workdays ?? [], 'workdays', where, violations);
  for (const [d, path] of workdays) {
    const weekday = new Date(timeOf(d)).getUTCDay();
    if (weekday !== 0 && weekday !== 6) {
      violations.push({ where, path, rule: 'weekend', message: `${d} is not a Saturday or Sunday: only a weekend day can be a 调休 working day` });
    }
    const holiday = holidays.get(d);
    if (holiday !== undefined) {
      violations.push({ where, path, rule: 'conflict', message: `${d} is also a holiday (${holiday}): a date is either a holiday or a working day` });
    }
  }
  if (violations.length > 0) throw new ValidationError(violations);
  const all = [...holidays.keys(), ...workdays.keys()];
  const years = [...new Set(all.map((d) => Number(d.slice(0, 4))))].sort((a, b) => a - b);
  return { ...calendarOf({ holidays: [...holidays.keys()], workdays: [...workdays.keys()] }), years };
}

/** Reads and validates a calendar file (YAML or JSON); a syntax error is named with its line and column. */
export async function loadWorkCalendar(path: string): Promise<LoadedCalendar> {
  return parseWorkCalendar(await readYamlFile(path), path);
}
