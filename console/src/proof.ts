/**
 * Checks an inclusion proof in the browser (RFC 6962 / RFC 9162 §2.1.3.2): the record's canonical
 * bytes hash to the leaf, and the audit path leads from the leaf to the root hash of the signed
 * checkpoint. (The checkpoint's signature is what "Verify the trail" checks, server-side.)
 */
export interface Proof { checkpoint: string; treeSize: number; index: number; leafHash: string; canonicalRecord: string; path: string[] }

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
}

export async function verifyInclusion(proof: Proof): Promise<boolean> {
  const leaf = await sha256(new Uint8Array([0]), new TextEncoder().encode(proof.canonicalRecord));
  if (b64(leaf) !== proof.leafHash) return false;
  const rootLine = proof.checkpoint.split('\n')[2];
  if (!rootLine || proof.index >= proof.treeSize) return false;
  let fn = proof.index;
  let sn = proof.treeSize - 1;
  let r = leaf;
  for (const p of proof.path.map(unb64)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(new Uint8Array([1]), p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await sha256(new Uint8Array([1]), r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && b64(r) === rootLine.trim();
}
