/**
 * Signed notes and checkpoints in the C2SP / Go sumdb formats.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkpointText, noteSigner, openNote, parseCheckpointText, parseVerifierKey, signNote } from '../../audit/index.ts';

const signers = Array.from({ length: 64 }, () => noteSigner('yiwang-hub', randomBytes(32).toString('hex')));

describe('signed notes', () => {
  it('parses every verifier key it makes, including keys whose base64 holds "+"', () => {
    expect(signers.some((s) => s.verifierKey.split('+').length > 3)).toBe(true);
    for (const s of signers) expect(parseVerifierKey(s.verifierKey).keyHash.equals(s.keyHash)).toBe(true);
  });

  it('signs and opens a checkpoint; any change to the text breaks the signature', () => {
    const signer = signers[0]!;
    const note = signNote(signer, checkpointText({ origin: 'yiwang-hub/h/1', size: 7, root: Buffer.alloc(32, 1) }));
    const v = parseVerifierKey(signer.verifierKey);
    const opened = openNote(note, v);
    expect(opened).toEqual({ ok: true, text: 'yiwang-hub/h/1\n7\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n' });
    expect(parseCheckpointText(opened.ok ? opened.text : '')).toEqual({ origin: 'yiwang-hub/h/1', size: 7, root: Buffer.alloc(32, 1) });
    expect(openNote(note.replace('\n7\n', '\n8\n'), v)).toEqual({ ok: false, reason: 'the signature does not verify: the checkpoint was altered or forged' });
    expect(openNote(note, parseVerifierKey(signers[1]!.verifierKey))).toEqual({ ok: false, reason: 'no signature by yiwang-hub on the note' });
  });

  it('reads a PKCS#8 PEM key and a hex seed alike', () => {
    const seed = randomBytes(32);
    const fromHex = noteSigner('k', seed.toString('hex'));
    const pem = fromHex.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(noteSigner('k', pem).verifierKey).toBe(fromHex.verifierKey);
    expect(() => noteSigner('k', 'abcd')).toThrow('an Ed25519 key is 32 bytes (64 hex characters) or a PKCS#8 PEM');
  });
});
