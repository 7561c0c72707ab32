/**
 * Who may do what on the management plane: CASL abilities compiled from a principal's role and
 * department, deny by default. Conditions name the department, so an officer acts only on objects
 * that name theirs: as consumer (apply, withdraw, escalate, file a demand) or as provider
 * (approve, reject, change grants, catalogue, answer demands). Rules are plain data and pass the
 * same validation as grants before use.
 */
import { createMongoAbility, subject as asSubject, type MongoAbility, type RawRuleOf } from '@casl/ability';
import type { Principal } from './types.ts';
import { ruleViolations } from './rules.ts';

export type ManagementSubject = 'Application' | 'Grant' | 'Resource' | 'Demand' | 'Token' | 'Consent' | 'AuditTrail';
export type ManagementAbility = MongoAbility;

type Rule = RawRuleOf<ManagementAbility>;

function officerRules(department: string): Rule[] {
  const asConsumer = { consumer: department };
  const asProvider = { provider: department };
  return [
    { action: ['apply', 'withdraw', 'escalate', 'read'], subject: 'Application', conditions: asConsumer },
    { action: ['approve', 'reject', 'read'], subject: 'Application', conditions: asProvider },
    { action: 'read', subject: 'Grant', conditions: asConsumer },
    { action: ['read', 'suspend', 'resume', 'revoke'], subject: 'Grant', conditions: asProvider },
    { action: 'read', subject: 'Resource' },
    { action: ['register', 'update'], subject: 'Resource', conditions: asProvider },
    { action: ['file', 'read'], subject: 'Demand', conditions: asConsumer },
    { action: ['answer', 'read'], subject: 'Demand', conditions: asProvider },
  ];
}

const ADMIN_RULES: Rule[] = [
  { action: ['read', 'resolve'], subject: 'Application' },
  { action: 'read', subject: 'Grant' },
  { action: 'read', subject: 'Resource' },
  { action: ['read', 'assign'], subject: 'Demand' },
  { action: ['issue', 'revoke', 'read'], subject: 'Token' },
  { action: 'read', subject: 'AuditTrail' },
];

const AUDITOR_RULES: Rule[] = [
  { action: ['read', 'disclose'], subject: 'AuditTrail' },
  { action: 'read', subject: 'Application' },
  { action: 'read', subject: 'Grant' },
  { action: 'read', subject: 'Demand' },
];

const PORTAL_RULES: Rule[] = [
  { action: ['record', 'withdraw', 'read'], subject: 'Consent' },
  // The data subject's view of the trail (who used my data, when, why), nothing more.
  { action: 'read_subject', subject: 'AuditTrail' },
];

export function managementRules(principal: Principal): Rule[] {
  switch (principal.kind) {
    case 'officer':
      return principal.department ? officerRules(principal.department) : [];
    case 'admin':
      return ADMIN_RULES;
    case 'auditor':
      return AUDITOR_RULES;
    case 'portal':
      return PORTAL_RULES;
    case 'system':
      return [];
  }
}

export function managementAbility(principal: Principal): ManagementAbility {
  const rules = managementRules(principal);
  const problems = ruleViolations(rules);
  if (problems.length > 0) throw new Error(`management rules of ${principal.kind} are invalid: ${problems.join('; ')}`);
  return createMongoAbility(rules);
}

/** Whether `ability` allows `action` on a plain object of the given type. */
export function canManage(ability: ManagementAbility, action: string, type: ManagementSubject, object: object): boolean {
  return ability.can(action, asSubject(type, { ...object }));
}
