/**
 * Hub errors are answers to clients: code, message and extensions as given, no stack trace (the
 * cost of capturing and formatting one is bench/README.md lever 3's); faults elsewhere keep theirs.
 */
import { describe, expect, it } from 'vitest';
import { hubError, refusalError } from '../../gateway/errors.ts';

describe('hub errors', () => {
  it('carry the code, message and extensions, and an HTTP status where the code has one', () => {
    const e = hubError('RATE_LIMITED', 'Too many requests.', { limit: 'perSystem' });
    expect([e.message, e.extensions]).toEqual(['Too many requests.', { http: { status: 429 }, limit: 'perSystem', code: 'RATE_LIMITED' }]);
    expect(refusalError({ code: 'FORBIDDEN', message: 'No grant.', denial: 'NO_GRANT' }, { resource: 'GA-HUKOU' }).extensions).toEqual({ resource: 'GA-HUKOU', reason: 'NO_GRANT', code: 'FORBIDDEN' });
  });

  it('hold no stack frames, and leave the stack trace limit of every other error as it was', () => {
    const before = Error.stackTraceLimit;
    expect(hubError('BAD_USER_INPUT', 'Bad input.').stack).toBe('GraphQLError: Bad input.');
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('a fault').stack).toMatch(/\n\s+at /);
  });
});
