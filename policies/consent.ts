/**
 * Consent matching (单独同意, PIPL Arts. 28–29): a consent serves only its data subject, consumer
 * department, purpose and items, while in force. Pure.
 */
import type { Consent } from '../schema/index.ts';

export interface ConsentNeed {
  /** Keyed hash of the subject's ID number. */
  readonly subject: string;
  readonly consumer: string;
  readonly purpose: string;
  /** `RESOURCE.item` names that need consent. */
  readonly items: readonly string[];
  readonly today: string;
}

/**
 * Null when the consent covers the need; otherwise the first problem, for a person to act on.
 * Whose consent it is comes first: a consent of another data subject or department is refused
 * without telling the caller anything more about it (whether it was withdrawn, when, what for).
 */
export function consentRefusal(consent: Consent | null, need: ConsentNeed): string | null {
  if (!consent) return 'no consent with this reference is on record.';
  if (consent.subject !== need.subject) return 'this consent was given by another data subject.';
  if (consent.consumer !== need.consumer) return 'this consent was given to another department, not yours.';
  if (consent.withdrawnAt) return `the data subject withdrew this consent on ${consent.withdrawnAt.toISOString().slice(0, 10)}.`;
  if (consent.validUntil < need.today) return `this consent expired on ${consent.validUntil}.`;
  if (consent.purpose !== need.purpose) return `this consent is for purpose ${consent.purpose}, not ${need.purpose}.`;
  const missing = need.items.filter((i) => !consent.items.includes(i));
  if (missing.length > 0) return `this consent does not cover ${missing.join(', ')}.`;
  return null;
}
