/**
 * Purpose binding (目的限定): every consumer request names a registered service item, a case number
 * and the operator handling it, and the service item must be one the caller's department handles.
 */
import type { Purpose } from '../schema/index.ts';
import type { Principal, PurposeStatement, Refusal } from './types.ts';

const CASE_ID = /^[\p{L}\p{N}][\p{L}\p{N}_.:/-]{0,127}$/u;
const OPERATOR = /^[\p{L}\p{N}][\p{L}\p{N}_.@-]{0,63}$/u;
/** A service item's code, as the catalogue's codes are. */
const PURPOSE_CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export type PurposeCheck = { readonly ok: true; readonly purpose: Purpose } | { readonly ok: false; readonly refusal: Refusal };

/** `today` is an ISO date (YYYY-MM-DD). */
export function checkPurpose(
  purposes: ReadonlyMap<string, Purpose>,
  principal: Principal,
  statement: PurposeStatement,
  today: string,
): PurposeCheck {
  const refuse = (code: Refusal['code'], message: string): PurposeCheck => ({ ok: false, refusal: { code, message } });
  const code = statement.purpose?.trim();
  if (!code) return refuse('PURPOSE_REQUIRED', 'State the purpose: the code of the service item (政务服务事项) this request handles.');
  if (!statement.caseId?.trim()) return refuse('PURPOSE_REQUIRED', 'State the case number (办件编号) this request handles.');
  if (!statement.operator?.trim()) return refuse('PURPOSE_REQUIRED', 'State the operator (经办人) handling the case.');
  if (!CASE_ID.test(statement.caseId)) return refuse('BAD_USER_INPUT', 'The case number may hold letters, digits and _ . : / - only, at most 128 characters.');
  if (!OPERATOR.test(statement.operator)) return refuse('BAD_USER_INPUT', 'The operator id may hold letters, digits and _ . @ - only, at most 64 characters.');
  // Not echoed when it is not even shaped like a code: the message and the access record stay bounded.
  if (!PURPOSE_CODE.test(code)) return refuse('PURPOSE_INVALID', 'The purpose must be the code of a registered service item (letters, digits, _ . -; at most 64 characters). Query `purposes` for the registered ones.');
  const purpose = purposes.get(code);
  if (!purpose) return refuse('PURPOSE_INVALID', `Purpose "${code}" is not a registered service item. Query \`purposes\` for the registered ones.`);
  if (!purpose.departments.includes(principal.department)) {
    return refuse('PURPOSE_INVALID', `Purpose "${code}" is not a service item your department handles.`);
  }
  if (purpose.validUntil && purpose.validUntil < today) {
    return refuse('PURPOSE_INVALID', `Purpose "${code}" was withdrawn on ${purpose.validUntil}.`);
  }
  return { ok: true, purpose };
}
