/**
 * Correction requests (数据纠错 / 异议), pure: the answer's transition and its reason, and who must
 * prove what before a value can be disputed.
 *
 *   open ─corrected (note optional)→ corrected (final)
 *   open ─rejected (reason required)→ rejected (final)
 */
import type { CorrectionRequest, CorrectionStatus } from '../schema/index.ts';
import { requireReason, type Step } from './lifecycle.ts';
import type { Principal } from './types.ts';

export type CorrectionOutcome = 'corrected' | 'rejected';

/** The status an answer leads to, or why it cannot be given (only an open request is answered). */
export function nextCorrectionStatus(c: Pick<CorrectionRequest, 'id' | 'status'>, outcome: CorrectionOutcome): Step<CorrectionStatus> {
  if (c.status !== 'open') return { ok: false, message: `Correction request ${c.id} was already answered (${c.status}); an answer is final.` };
  return { ok: true, status: outcome };
}

/** The answer's text: a rejection states its reason; a correction may say what was corrected. */
export function answerText(outcome: CorrectionOutcome, note: string | null | undefined): { ok: true; text: string | null } | { ok: false; message: string } {
  if (outcome === 'rejected') {
    const checked = requireReason(note, 'A rejected correction request');
    return checked.ok ? { ok: true, text: checked.reason } : checked;
  }
  const text = note?.trim() ?? '';
  if (text.length > 2000) return { ok: false, message: 'The note is longer than 2000 characters.' };
  return { ok: true, text: text || null };
}

/**
 * What a requester must prove: a value can be disputed by whoever was served it (the access trail
 * must hold a record serving that item of that subject to the requesting system, or to a system of
 * the requesting officer's department); the provider's own data officer flags a known error in the
 * provider's data without one.
 */
export function needsServedRecord(principal: Principal, provider: string): boolean {
  return !(principal.kind === 'officer' && principal.department === provider);
}

/** An open request is overdue from the day after its deadline. */
export function correctionOverdue(c: Pick<CorrectionRequest, 'status' | 'deadline'>, today: string): boolean {
  return c.status === 'open' && today > c.deadline;
}
