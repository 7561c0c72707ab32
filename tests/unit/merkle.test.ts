/**
 * RFC 6962 hashing and proofs: roots, inclusion and consistency proofs verify for every size and
 * index up to 40 leaves, and fail for a wrong leaf, index or root.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256, nodeHash, Frontier, consistencyProof, inclusionProof, leafHash, prefixedLeafHash, textLeafHash, rootOf, verifyConsistency, verifyInclusion, EMPTY_ROOT } from '../../audit/merkle.ts';

const leaves = Array.from({ length: 40 }, (_, i) => leafHash(Buffer.from(`record ${i}`)));

describe('RFC 6962 Merkle tree', () => {
  it('hashes leaves and the empty tree as the RFC does', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    // RFC 6962 test vector: the leaf hash of the empty string.
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  });

  it('hashes any bytes and any text as createHash does, each result a buffer of its own', () => {
    const made: Array<[Buffer, string]> = [];
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300, size: 'max' }), fc.string({ unit: 'binary', maxLength: 100, size: 'max' })), (input) => {
      const expected = createHash('sha256').update(input).digest('hex');
      const got = sha256(input);
      expect([got.length, got.toString('hex')]).toEqual([32, expected]);
      made.push([got, expected]);
    }), { seed: 20_261_207, numRuns: 1000 });
    // Pooled buffers: every hash made keeps its own 32 bytes, whatever was hashed after it.
    expect(made.filter(([got, expected]) => got.toString('hex') !== expected)).toEqual([]);
    const left = leafHash(Buffer.from('a'));
    const right = leafHash(Buffer.from('b'));
    expect(nodeHash(left, right).toString('hex')).toBe(createHash('sha256').update(Buffer.concat([Buffer.of(1), left, right])).digest('hex'));
  });

  it('hashes a text as the leaf of its UTF-8 bytes', () => {
    for (const text of ['', 'record 1', '{"name":"张三","note":"𠀀 é"}']) {
      expect(textLeafHash(text).equals(leafHash(Buffer.from(text, 'utf8')))).toBe(true);
      expect(prefixedLeafHash(Buffer.concat([Buffer.of(0), Buffer.from(text, 'utf8')])).equals(leafHash(Buffer.from(text, 'utf8')))).toBe(true);
    }
    // Bytes not preceded by the leaf prefix are refused, never hashed as a leaf.
    expect(() => prefixedLeafHash(Buffer.from('record 1'))).toThrow(RangeError);
  });

  it('the frontier gives the same root as MTH at every size', () => {
    const f = new Frontier();
    for (let n = 1; n <= leaves.length; n++) {
      f.append(leaves[n - 1]!);
      expect(f.root().equals(rootOf(leaves, 0, n)), `size ${n}`).toBe(true);
    }
  });

  it('inclusion proofs verify for every index and size, and not for another leaf or index', () => {
    for (let size = 1; size <= leaves.length; size++) {
      const root = rootOf(leaves, 0, size);
      for (let i = 0; i < size; i++) {
        const proof = inclusionProof(leaves, i, size);
        expect(verifyInclusion(leaves[i]!, i, size, proof, root), `${i} of ${size}`).toBe(true);
        if (size > 1) expect(verifyInclusion(leaves[(i + 1) % size]!, i, size, proof, root)).toBe(false);
      }
    }
  });

  it('consistency proofs verify for every pair of sizes, and not against another root', () => {
    for (let newer = 1; newer <= leaves.length; newer++) {
      for (let older = 1; older <= newer; older++) {
        const proof = consistencyProof(leaves, older, newer);
        const oldRoot = rootOf(leaves, 0, older);
        const newRoot = rootOf(leaves, 0, newer);
        expect(verifyConsistency(older, newer, oldRoot, newRoot, proof), `${older} → ${newer}`).toBe(true);
        if (older > 1 && older < newer) expect(verifyConsistency(older, newer, leaves[0]!, newRoot, proof), `forged ${older} → ${newer}`).toBe(false);
      }
    }
  });
});

describe('a tree whose first leaves were archived (retention)', () => {
  /** The leaves from `base` on, and the frontier of the first `base` standing in for the rest. */
  function pruned(base: number) {
    const f = new Frontier();
    for (let i = 0; i < base; i++) f.append(leaves[i]!);
    const rest: typeof leaves = [];
    for (let i = base; i < leaves.length; i++) rest[i] = leaves[i]!;
    return { frontier: f, rest, known: f.known() };
  }

  it('restores a frontier from its nodes, which keeps growing to the same roots', () => {
    for (let base = 0; base <= 20; base++) {
      const { frontier } = pruned(base);
      const restored = Frontier.restore(frontier.nodes());
      expect(restored.size).toBe(base);
      for (let n = base; n < leaves.length; n++) restored.append(leaves[n]!);
      expect(restored.root().equals(rootOf(leaves)), `base ${base}`).toBe(true);
    }
  });

  it('refuses nodes that are not a frontier', () => {
    const h = leaves[0]!;
    expect(() => Frontier.restore([{ hash: h, size: 3 }])).toThrow('not a frontier');
    expect(() => Frontier.restore([{ hash: h, size: 2 }, { hash: h, size: 2 }])).toThrow('not a frontier');
    expect(() => Frontier.restore([{ hash: h.subarray(0, 31), size: 1 }])).toThrow('not a frontier');
  });

  it('gives the same roots, inclusion and consistency proofs for every size, index and pair from the cut on', () => {
    for (let base = 1; base <= 24; base++) {
      const { rest, known } = pruned(base);
      for (let size = base; size <= 32; size++) {
        expect(rootOf(rest, 0, size, known).equals(rootOf(leaves, 0, size)), `root ${size} after ${base}`).toBe(true);
        for (let i = base; i < size; i++) {
          expect(inclusionProof(rest, i, size, known), `leaf ${i} of ${size} after ${base}`).toEqual(inclusionProof(leaves, i, size));
        }
        for (let older = base; older <= size; older++) {
          expect(consistencyProof(rest, older, size, known), `${older}→${size} after ${base}`).toEqual(consistencyProof(leaves, older, size));
        }
      }
    }
  });

  it('says the leaves are archived when a proof would need one of them', () => {
    const { rest, known } = pruned(8);
    expect(() => inclusionProof(rest, 3, 12, known)).toThrow('leaf 2 is archived');
  });
});
