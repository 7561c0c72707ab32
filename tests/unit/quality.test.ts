/**
 * Data quality and corrections, the pure part: freshness against the declared update frequency,
 * validity rate, a report's period, and the answer of a correction request.
 */
import { describe, expect, it } from 'vitest';
import {
  answerText, correctionOverdue, freshnessOf, FRESHNESS_MAX_AGE_SECONDS, needsServedRecord, nextCorrectionStatus, reportPeriod, validityRate,
} from '../../policies/index.ts';

const NOW = new Date('2026-11-23T12:00:00Z');
const ago = (seconds: number) => ({ at: new Date(NOW.getTime() - seconds * 1000), basis: 'modification time of file "x.csv"' });
const HOUR = 3600;
const DAY = 86_400;

describe('freshness', () => {
  it.each([
    ['realtime', HOUR],
    ['hourly', 1.5 * HOUR],
    ['daily', 1.5 * DAY],
    ['weekly', 10.5 * DAY],
    ['monthly', 45 * DAY],
    ['quarterly', 137 * DAY],
    ['yearly', 548 * DAY],
  ])('%s: fresh up to %i s old, stale a second later', (frequency, maxAge) => {
    expect(FRESHNESS_MAX_AGE_SECONDS[frequency]).toBe(maxAge);
    expect(freshnessOf(frequency, ago(maxAge), NOW)).toMatchObject({ status: 'fresh', maxAgeSeconds: maxAge, ageSeconds: maxAge, updateFrequency: frequency });
    expect(freshnessOf(frequency, ago(maxAge + 1), NOW)).toMatchObject({ status: 'stale', ageSeconds: maxAge + 1 });
  });

  it('reports the change and how it is known, with a sentence a person can read', () => {
    const f = freshnessOf('daily', ago(3 * DAY), NOW);
    expect(f).toMatchObject({ status: 'stale', lastChanged: new Date(NOW.getTime() - 3 * DAY * 1000), basis: 'modification time of file "x.csv"' });
    expect(f.detail).toBe('Last changed 3 days ago, more than the 36 h a daily resource allows.');
    expect(freshnessOf('hourly', ago(600), NOW).detail).toBe('Last changed 10 min ago, within the 90 min a hourly resource allows.');
  });

  it('is unknown, never guessed, when the source cannot tell or could not be asked', () => {
    expect(freshnessOf('daily', null, NOW)).toMatchObject({ status: 'unknown', lastChanged: null, ageSeconds: null, maxAgeSeconds: 1.5 * DAY });
    const failed = freshnessOf('daily', 'file connector "f": file "x.csv" does not exist', NOW);
    expect(failed).toMatchObject({ status: 'unknown', lastChanged: null });
    expect(failed.detail).toContain('does not exist');
  });

  it('is undeclared without a frequency or for irregular updates, still saying when the data changed', () => {
    expect(freshnessOf(undefined, ago(10), NOW)).toMatchObject({ status: 'undeclared', updateFrequency: null, maxAgeSeconds: null, ageSeconds: 10 });
    expect(freshnessOf('irregular', null, NOW)).toMatchObject({ status: 'undeclared', updateFrequency: 'irregular' });
  });

  it('treats a change in the future (a clock ahead of the hub\'s) as just now', () => {
    expect(freshnessOf('realtime', ago(-120), NOW)).toMatchObject({ status: 'fresh', ageSeconds: 0 });
  });
});

describe('validity rate', () => {
  it('is valid / checked, and null when nothing was checked', () => {
    expect(validityRate(12, 2)).toBeCloseTo(12 / 14, 12);
    expect(validityRate(5, 0)).toBe(1);
    expect(validityRate(0, 3)).toBe(0);
    expect(validityRate(0, 0)).toBeNull();
  });
});

describe('report period', () => {
  const options = { defaultDays: 30, maxDays: 366 };
  it('defaults to the 30 days ending today, and takes either end', () => {
    expect(reportPeriod(null, null, '2026-11-23', options)).toEqual({ ok: true, from: '2026-10-25', to: '2026-11-23' });
    expect(reportPeriod(null, '2026-03-01', '2026-11-23', options)).toEqual({ ok: true, from: '2026-01-31', to: '2026-03-01' });
    expect(reportPeriod('2026-11-01', undefined, '2026-11-23', options)).toEqual({ ok: true, from: '2026-11-01', to: '2026-11-23' });
    expect(reportPeriod('2025-11-23', '2026-11-23', '2026-11-23', options)).toEqual({ ok: true, from: '2025-11-23', to: '2026-11-23' });
  });

  it.each([
    ['2026-13-01', null, 'from'],
    ['2026-02-30', null, 'from'],
    [null, 'yesterday', 'to'],
    ['2026-11-20', '2026-11-10', 'from'],
    ['2025-11-22', '2026-11-23', 'from'],
  ])('refuses from %j to %j, naming %s', (from, to, argument) => {
    expect(reportPeriod(from, to, '2026-11-23', options)).toMatchObject({ ok: false, argument });
  });
});

describe('correction requests', () => {
  const open = { id: 'JC-1', status: 'open' as const };

  it('an open request is answered once: corrected or rejected; an answer is final', () => {
    expect(nextCorrectionStatus(open, 'corrected')).toEqual({ ok: true, status: 'corrected' });
    expect(nextCorrectionStatus(open, 'rejected')).toEqual({ ok: true, status: 'rejected' });
    for (const status of ['corrected', 'rejected'] as const) {
      const step = nextCorrectionStatus({ id: 'JC-1', status }, 'corrected');
      expect(step.ok).toBe(false);
      expect(!step.ok && step.message).toMatch(/already answered/);
    }
  });

  it('a rejection needs a reason; a correction may say what was corrected', () => {
    for (const note of [null, undefined, '', '  ']) expect(answerText('rejected', note).ok).toBe(false);
    expect(answerText('rejected', ' 与档案一致 ')).toEqual({ ok: true, text: '与档案一致' });
    expect(answerText('corrected', null)).toEqual({ ok: true, text: null });
    expect(answerText('corrected', ' 已更正 ')).toEqual({ ok: true, text: '已更正' });
    expect(answerText('corrected', 'x'.repeat(2001)).ok).toBe(false);
  });

  it('whoever was served the value must prove it; only the provider\'s own officer flags without proof', () => {
    expect(needsServedRecord({ kind: 'officer', id: 'rs', department: 'RS' }, 'RS')).toBe(false);
    expect(needsServedRecord({ kind: 'officer', id: 'mz', department: 'MZ' }, 'RS')).toBe(true);
    // A provider's own system is a consumer like any other.
    expect(needsServedRecord({ kind: 'system', id: 'rs-system', department: 'RS' }, 'RS')).toBe(true);
    expect(needsServedRecord({ kind: 'system', id: 'mz-dibao', department: 'MZ' }, 'RS')).toBe(true);
  });

  it('is overdue from the day after its deadline, while open', () => {
    expect(correctionOverdue({ status: 'open', deadline: '2026-11-20' }, '2026-11-20')).toBe(false);
    expect(correctionOverdue({ status: 'open', deadline: '2026-11-20' }, '2026-11-21')).toBe(true);
    expect(correctionOverdue({ status: 'corrected', deadline: '2026-11-20' }, '2026-11-23')).toBe(false);
  });
});
