/**
 * Validation of CASL raw rules before they are stored or used. CASL silently ignores condition
 * operators it does not support, so a rule that looks restrictive could allow everything; and
 * `manage`, `all`, inverted rules and field wildcards are broader than any grant may be. Every rule
 * the hub compiles (grants, management abilities) passes through here.
 */
import type { RawRule } from '@casl/ability';
import type { Grant } from '../schema/index.ts';

/** Condition operators a rule may use: comparisons and boolean combinations, nothing executable. */
export const ALLOWED_OPERATORS: ReadonlySet<string> = new Set(['$eq', '$ne', '$in', '$nin', '$lt', '$lte', '$gt', '$gte', '$exists', '$and', '$or']);
const RULE_KEYS: ReadonlySet<string> = new Set(['action', 'subject', 'fields', 'conditions', 'inverted', 'reason']);
/** CASL's wildcards: `manage` is every action, `all` every subject. */
const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(['manage', 'all']);

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * Walks a condition: every `$`-key at any depth (inside $and / $or / $elemMatch arrays too) must be
 * allowed, and values must be plain data (no RegExp, functions or class instances, which the
 * matcher may interpret in ways the validator cannot see). Dates are comparable values.
 */
function conditionProblems(value: unknown, path: string, allowed: ReadonlySet<string>, out: string[]): void {
  const at = path || 'the top';
  if (Array.isArray(value)) {
    value.forEach((v, i) => conditionProblems(v, `${path}[${i}]`, allowed, out));
    return;
  }
  if (value instanceof Date || value === null || ['string', 'number', 'boolean'].includes(typeof value)) return;
  if (!isPlainObject(value)) {
    out.push(`condition value at ${at} is not plain data (${value instanceof RegExp ? 'a regular expression' : typeof value})`);
    return;
  }
  for (const [key, inner] of Object.entries(value)) {
    if (key.startsWith('$') && !allowed.has(key)) out.push(`condition operator "${key}" at ${at} is not allowed`);
    conditionProblems(inner, path ? `${path}.${key}` : key, allowed, out);
  }
}

/**
 * Problems of each rule, as `rule <i>: <what>`; empty when every rule is acceptable. `allowed`
 * narrows the operator allow-list further for one kind of rule (never widens it).
 */
export function ruleViolations(rules: readonly RawRule[], allowed: ReadonlySet<string> = ALLOWED_OPERATORS): string[] {
  // On the request path (every compiled policy): no copy for the usual allow-list.
  const operators = allowed === ALLOWED_OPERATORS ? allowed : new Set([...allowed].filter((o) => ALLOWED_OPERATORS.has(o)));
  const out: string[] = [];
  rules.forEach((rule, i) => {
    const problems: string[] = [];
    if (!isPlainObject(rule)) {
      out.push(`rule ${i}: is not a plain object`);
      return;
    }
    for (const key of Object.keys(rule)) if (!RULE_KEYS.has(key)) problems.push(`unknown key "${key}"`);
    const actions = asList(rule.action);
    const subjects = asList(rule.subject);
    if (actions.length === 0) problems.push('no action');
    for (const a of actions) if (typeof a !== 'string' || a === '' || FORBIDDEN_NAMES.has(a)) problems.push(`action ${JSON.stringify(a)} is not allowed`);
    if (subjects.length === 0) problems.push('no subject');
    for (const s of subjects) if (typeof s !== 'string' || s === '' || FORBIDDEN_NAMES.has(s)) problems.push(`subject ${JSON.stringify(s)} is not allowed`);
    if (rule.inverted !== undefined && rule.inverted !== false) problems.push('inverted rules are not allowed (deny by default: grant only what is allowed)');
    if (rule.fields !== undefined) {
      const fields = asList(rule.fields);
      if (fields.length === 0) problems.push('an empty field list is not allowed');
      for (const f of fields) if (typeof f !== 'string' || f.includes('*') || f === '') problems.push(`field ${JSON.stringify(f)} is not allowed (no wildcards)`);
    }
    if (rule.conditions !== undefined) {
      if (isPlainObject(rule.conditions)) conditionProblems(rule.conditions, '', operators, problems);
      else problems.push('conditions must be an object');
    }
    if (rule.reason !== undefined && typeof rule.reason !== 'string') problems.push('reason must be a string');
    for (const p of problems) out.push(`rule ${i}: ${p}`);
  });
  return out;
}

const ACTION_OF = { clear: 'read', masked: 'read_masked', verify: 'verify' } as const;

/** The raw rules a grant compiles to: one per access class, its items as fields. */
export function grantRules(grant: Pick<Grant, 'resource' | 'items'>): RawRule[] {
  // Fixed order (clear, masked, verify), so equal grants compile to equal rules.
  const rules: RawRule[] = [];
  for (const access of ['clear', 'masked', 'verify'] as const) {
    const fields = grant.items.filter((i) => i.access === access).map((i) => i.name);
    if (fields.length > 0) rules.push({ action: ACTION_OF[access], subject: grant.resource, fields });
  }
  return rules;
}

/** Throws when a grant would compile to a rule the hub refuses (checked before a grant is stored). */
export function assertGrantRules(grant: Pick<Grant, 'id' | 'resource' | 'items'>): void {
  const problems = ruleViolations(grantRules(grant));
  if (problems.length > 0) throw new Error(`grant ${grant.id} compiles to rules the hub refuses: ${problems.join('; ')}`);
}
