/**
 * Loads the working-day calendar file (public holidays and 调休 working weekends) and validates it
 * like every other input: JSON Schema plus rules it cannot express, each violation named by file,
 * path and rule.
 */
import { calendarOf, type WorkCalendar } from '../policies/index.ts';
import { createAjv, toViolations, ValidationError, type Violation } from './ajv.ts';
import { readYamlFile } from './yaml.ts';

const date = { type: 'string', format: 'date' } as const;
const entry = {
  anyOf: [
    date,
    {
      type: 'object',
      required: ['from', 'to'],
      additionalProperties: false,
      properties: { from: date, to: date, name: { type: 'string', minLength: 1, maxLength: 100 } },
    },
  ],
} as const;

const validate = createAjv().compile({
  type: 'object',
  additionalProperties: false,
  properties: {
    holidays: { type: 'array', items: entry },
    workdays: { type: 'array', items: entry },
  },
});

type Entry = string | { from: string; to: string; name?: string };

const DAY_MS = 86_400_000;

function expand(list: readonly Entry[], where: string, key: string, violations: Violation[]): string[] {
  const out: string[] = [];
  list.forEach((e, i) => {
    if (typeof e === 'string') {
      out.push(e);
      return;
    }
    const from = Date.parse(`${e.from}T00:00:00Z`);
    const to = Date.parse(`${e.to}T00:00:00Z`);
    if (to < from) violations.push({ where, path: `/${key}/${i}/to`, rule: 'order', message: 'is before from' });
    else if ((to - from) / DAY_MS > 60) violations.push({ where, path: `/${key}/${i}`, rule: 'range', message: 'spans more than 60 days' });
    else for (let t = from; t <= to; t += DAY_MS) out.push(new Date(t).toISOString().slice(0, 10));
  });
  return out;
}

export type LoadedCalendar = WorkCalendar & { readonly years: readonly number[] };

export function parseWorkCalendar(data: unknown, where: string): LoadedCalendar {
  const value = data ?? {};
  if (!validate(value)) throw new ValidationError(toViolations(where, validate.errors));
  const spec = value as { holidays?: Entry[]; workdays?: Entry[] };
  const violations: Violation[] = [];
  const holidays = expand(spec.holidays ?? [], where, 'holidays', violations);
  const workdays = expand(spec.workdays ?? [], where, 'workdays', violations);
  const holidaySet = new Set(holidays);
  workdays.forEach((d) => {
    const weekday = new Date(`${d}T00:00:00Z`).getUTCDay();
    if (weekday !== 0 && weekday !== 6) violations.push({ where, path: '/workdays', rule: 'weekend', message: `${d} is not a Saturday or Sunday: only weekend days can be 调休 working days` });
    if (holidaySet.has(d)) violations.push({ where, path: '/workdays', rule: 'conflict', message: `${d} is both a holiday and a working day` });
  });
  if (violations.length > 0) throw new ValidationError(violations);
  const years = [...new Set([...holidays, ...workdays].map((d) => Number(d.slice(0, 4))))].sort();
  return { ...calendarOf({ holidays, workdays }), years };
}

export async function loadWorkCalendar(path: string): Promise<LoadedCalendar> {
  return parseWorkCalendar(await readYamlFile(path), path);
}
