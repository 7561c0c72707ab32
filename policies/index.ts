export * from './types.ts';
export { maskValue } from './masks.ts';
export { checkPurpose, type PurposeCheck } from './purpose.ts';
export { compilePolicy, grantInForce, grantApplies, grantRef, DEFAULT_VERIFY_ATTEMPTS, type CompiledPolicy, type GrantSummary, type HubAbility, type Action } from './ability.ts';
export { decideRead, decideVerify, consentRefusal as consentRequired, type DecisionContext } from './decide.ts';
export { calendarOf, isWorkingDay, addWorkingDays, isOverdue, dayIn, daysBefore, type WorkCalendar } from './calendar.ts';
export {
  nextApplicationStatus, nextGrantStatus, effectiveGrantStatus, requireReason, checkApprovalTerms,
  type ApplicationAction, type GrantAction, type EffectiveGrantStatus, type ApprovalTerms, type ApprovedTerms, type Step,
} from './lifecycle.ts';
export { ruleViolations, grantRules, assertGrantRules, ALLOWED_OPERATORS } from './rules.ts';
export { managementAbility, managementRules, canManage, type ManagementAbility, type ManagementSubject } from './management.ts';
export { consentRefusal, type ConsentNeed } from './consent.ts';
export { MANAGEMENT_OPERATORS } from './management.ts';
export {
  freshnessOf, validityRate, reportPeriod, shiftDay, FRESHNESS_MAX_AGE_SECONDS, type Freshness, type FreshnessStatus, type SourceChange,
} from './quality.ts';
export { nextCorrectionStatus, answerText, needsServedRecord, correctionOverdue, type CorrectionOutcome } from './corrections.ts';
