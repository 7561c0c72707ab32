/**
 * The keyed subject hash made of two one-shot digests (audit/keyed-hash.ts) is HMAC-SHA256 exactly:
 * the same text as node:crypto's createHmac for keys shorter than, as long as and longer than the
 * 64-byte block, raw or as a KeyObject, for texts of every UTF-8 width and lone surrogates, and a
 * KeyObject's remembered pads never leak into another key's hash.
 */
import { createHmac, createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hmacSha256Base64url } from '../../audit/keyed-hash.ts';
import { subjectHash } from '../../audit/index.ts';

const reference = (key: Uint8Array, text: string) => createHmac('sha256', key).update(text, 'utf8').digest('base64url');
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80, size: 'max' }),
  fc.string({ unit: 'grapheme', maxLength: 40, size: 'max' }),
  fc.string({ unit: fc.constantFrom('a', 'é', '张', '𠀀', '\ud800', '\udc00', '\u0000'), maxLength: 300, size: 'max' }),
);

describe('HMAC-SHA256 of subjects', () => {
  it('is createHmac\'s hash for raw keys of any length and texts of every UTF-8 width', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 150, size: 'max' }), text, (key, t) => {
      expect(hmacSha256Base64url(key, t)).toBe(reference(key, t));
    }), { seed: 20_261_207, numRuns: 2000 });
  });

  it('is createHmac\'s hash for KeyObjects, with each key\'s pads remembered apart', () => {
    const raws = [0, 1, 32, 63, 64, 65, 200].map((n) => randomBytes(n));
    const keys = raws.map((raw) => createSecretKey(raw));
    fc.assert(fc.property(fc.nat({ max: raws.length - 1 }), text, (k, t) => {
      expect(hmacSha256Base64url(keys[k]!, t)).toBe(reference(raws[k]!, t));
    }), { seed: 20_261_208, numRuns: 2000 });
  });

  it('hashes a short text right after a long one (the input buffer is reused, grown when needed, not kept past 64 KiB)', () => {
    const key = createSecretKey(randomBytes(32));
    const raw = key.export();
    const long = '张'.repeat(5000);
    expect(hmacSha256Base64url(key, long)).toBe(reference(raw, long));
    // Beyond the buffer kept (64 KiB): one of its own.
    const longer = `${'张'.repeat(30_000)}x`;
    expect(hmacSha256Base64url(key, longer)).toBe(reference(raw, longer));
    expect(hmacSha256Base64url(key, 'person:440106199001011234')).toBe(reference(raw, 'person:440106199001011234'));
    expect(hmacSha256Base64url(key, '')).toBe(reference(raw, ''));
  });

  it('is what subjectHash answers, and RFC 4231\'s test case 2 holds', () => {
    const key = createSecretKey(randomBytes(32));
    expect(subjectHash(key, 'person:440106199001011234')).toBe(reference(key.export(), 'person:440106199001011234'));
    // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
    expect(Buffer.from(hmacSha256Base64url(Buffer.from('Jefe'), 'what do ya want for nothing?'), 'base64url').toString('hex'))
      .toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('refuses a key that is not a secret key', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    expect(() => hmacSha256Base64url(publicKey, 'x')).toThrow('an HMAC key must be a secret key, not a public one');
  });
});
