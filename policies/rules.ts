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
const RULE_KEYS = new Set(['action', 'subject', 'fields', 'conditions', 'inverted', 'reason']);
const FORBIDDEN_NAMES = new Set(['manage', 'all']);

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

function operatorProblems(value: unknown, path: string, out: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => operatorProblems(v, `${path}[${i}]`, out));
    return;
  }
  if (value === null || typeof value !== 'object' || value instanceof Date) return;
  for (const [key, inner] of Object.entries(value)) {
    if (key.startsWith('$') && !ALLOWED_OPERATORS.has(key)) out.push(`condition operator "${key}" at ${path || 'the top'} is not allowed`);
    operatorProblems(inner, path ? `${path}.${key}` : key, out);
  }
}

/** Problems of each rule, as `rule <i>: <what>`; empty when every rule is acceptable. */
export function ruleViolations(rules: readonly RawRule[]): string[] {
  const out: string[] = [];
  rules.forEach((rule, i) => {
    const problems: string[] = [];
    for (const key of Object.keys(rule)) if (!RULE_KEYS.has(key)) problems.push(`unknown key "${key}"`);
    const actions = asList(rule.action);
    const subjects = asList(rule.subject);
    if (actions.length === 0) problems.push('no action');
    for (const a of actions) if (typeof a !== 'string' || FORBIDDEN_NAMES.has(a)) problems.push(`action ${JSON.stringify(a)} is not allowed`);
    for (const s of subjects) if (typeof s !== 'string' || FORBIDDEN_NAMES.has(s)) problems.push(`subject ${JSON.stringify(s)} is not allowed`);
    if (subjects.length === 0) problems.push('no subject');
    if (rule.inverted) problems.push('inverted rules are not allowed (deny by default: grant only what is allowed)');
    if (rule.fields !== undefined) {
      const fields = asList(rule.fields);
      if (fields.length === 0) problems.push('an empty field list is not allowed');
      for (const f of fields) if (typeof f !== 'string' || f.includes('*') || f === '') problems.push(`field ${JSON.stringify(f)} is not allowed (no wildcards)`);
    }
    if (rule.conditions !== undefined) operatorProblems(rule.conditions, '', problems);
    for (const p of problems) out.push(`rule ${i}: ${p}`);
  });
  return out;
}

const ACTION_OF = { clear: 'read', masked: 'read_masked', verify: 'verify' } as const;

/** The raw rules a grant compiles to: one per access class, its items as fields. */
export function grantRules(grant: Pick<Grant, 'resource' | 'items'>): RawRule[] {
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
