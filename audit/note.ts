/**
 * Signed notes (golang.org/x/mod/sumdb/note, C2SP signed-note) and transparency-log checkpoints
 * (C2SP tlog-checkpoint), with Ed25519 from node:crypto:
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n      ← the signed text
 *   \n
 *   — <key name> <base64(key hash (4 bytes) ‖ signature (64 bytes))>\n
 *
 * The verifier key is `<name>+<key hash hex>+<base64(0x01 ‖ public key)>`; the key hash is the
 * first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

const ED25519 = 0x01;
const NAME = /^[^\s+]+$/;

export interface NoteSigner {
  readonly name: string;
  readonly keyHash: Buffer;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** `name+hash+key`, what verifiers are given. */
  readonly verifierKey: string;
}

function rawPublic(publicKey: KeyObject): Buffer {
  // The SPKI DER of an Ed25519 key ends with its 32 raw bytes.
  return publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
}

function keyHashOf(name: string, raw: Buffer): Buffer {
  return createHash('sha256').update(`${name}\n`).update(Buffer.of(ED25519)).update(raw).digest().subarray(0, 4);
}

/** A signer from an Ed25519 private key: PKCS#8 PEM, or a 32-byte seed as hex or base64. */
export function noteSigner(name: string, keyText: string): NoteSigner {
  if (!NAME.test(name)) throw new Error('the key name may not contain spaces or "+"');
  const text = keyText.trim();
  let privateKey: KeyObject;
  if (text.startsWith('-----BEGIN')) {
    privateKey = createPrivateKey(text);
  } else {
    const seed = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
    if (seed.length !== 32) throw new Error('an Ed25519 key is 32 bytes (64 hex characters) or a PKCS#8 PEM');
    // PKCS#8 wrapper of a raw Ed25519 seed (RFC 8410).
    privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('the signing key must be Ed25519');
  const publicKey = createPublicKey(privateKey);
  const raw = rawPublic(publicKey);
  const keyHash = keyHashOf(name, raw);
  return {
    name,
    keyHash,
    privateKey,
    publicKey,
    verifierKey: `${name}+${keyHash.toString('hex')}+${Buffer.concat([Buffer.of(ED25519), raw]).toString('base64')}`,
  };
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyHash: Buffer;
  readonly publicKey: KeyObject;
}

export function parseVerifierKey(vkey: string): NoteVerifier {
  // The base64 key itself may contain '+': split off the name and the hash only.
  const m = /^([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(vkey.trim());
  if (!m) throw new Error('a verifier key reads name+hash+key');
  const parts = [m[1]!, m[2]!, m[3]!] as const;
  const key = Buffer.from(parts[2], 'base64');
  if (key.length !== 33 || key[0] !== ED25519) throw new Error('the verifier key is not an Ed25519 key');
  const raw = key.subarray(1);
  const keyHash = keyHashOf(parts[0], raw);
  if (keyHash.toString('hex') !== parts[1]) throw new Error('the verifier key hash does not match its name and key');
  const publicKey = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
  return { name: parts[0], keyHash, publicKey };
}

/** Signs `text` (which must end with a newline) as a note with one signature line. */
export function signNote(signer: NoteSigner, text: string): string {
  if (!text.endsWith('\n')) throw new Error('note text must end with a newline');
  const signature = sign(null, Buffer.from(text, 'utf8'), signer.privateKey);
  return `${text}\n— ${signer.name} ${Buffer.concat([signer.keyHash, signature]).toString('base64')}\n`;
}

/** The note's text if a signature line by `verifier` verifies, else a reason. */
export function openNote(note: string, verifier: NoteVerifier): { ok: true; text: string } | { ok: false; reason: string } {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return { ok: false, reason: 'not a signed note (no blank line before the signatures)' };
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2).split('\n').filter((l) => l !== '');
  for (const line of lines) {
    const m = /^— (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m || m[1] !== verifier.name) continue;
    const sig = Buffer.from(m[2]!, 'base64');
    if (sig.length !== 68 || !sig.subarray(0, 4).equals(verifier.keyHash)) continue;
    if (verify(null, Buffer.from(text, 'utf8'), verifier.publicKey, sig.subarray(4))) return { ok: true, text };
    return { ok: false, reason: 'the signature does not verify: the checkpoint was altered or forged' };
  }
  return { ok: false, reason: `no signature by ${verifier.name} on the note` };
}

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
}

export function checkpointText(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${c.root.toString('base64')}\n`;
}

export function parseCheckpointText(text: string): Checkpoint {
  const lines = text.split('\n');
  const [origin, size, root] = lines;
  if (!origin || !size || !/^[0-9]+$/.test(size) || !root) throw new Error('a checkpoint reads origin, tree size and root hash, one per line');
  const hash = Buffer.from(root, 'base64');
  if (hash.length !== 32) throw new Error('the checkpoint root is not a SHA-256 hash');
  return { origin, size: Number(size), root: hash };
}
