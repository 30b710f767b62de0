// The browser's checks (WebCrypto: Node 20's globalThis.crypto.subtle here) against published known answers.
import { createHash, createPrivateKey, sign } from 'node:crypto';
import {
  HASHER_VECTORS,
  NOTE_VECTOR,
  TREE_VECTORS,
  ed25519SeedToPem,
  seedOfGoPrivateKey,
} from '../../../../libs/tlog/test/vectors';
import { fromHex, toBase64, toHex } from './bytes';
import { checkInclusion, type InclusionProof } from './check';
import { leafHash, nodeHash, rootFromInclusionProof, verifyInclusion } from './merkle';
import { openNote, parseCheckpoint, parseVerifierKey } from './note';

const hex = (s: string) => fromHex(s);

describe('RFC 6962 hashing', () => {
  it('hashes leaves and nodes as the published answers', async () => {
    expect(toHex(await leafHash(new Uint8Array()))).toBe(HASHER_VECTORS.emptyLeaf);
    expect(toHex(await leafHash(new TextEncoder().encode(HASHER_VECTORS.leaf.data)))).toBe(HASHER_VECTORS.leaf.hash);
    const enc = new TextEncoder();
    expect(toHex(await nodeHash(enc.encode(HASHER_VECTORS.node.left), enc.encode(HASHER_VECTORS.node.right)))).toBe(
      HASHER_VECTORS.node.hash,
    );
  });

  it.each(TREE_VECTORS.inclusion)('verifies the published proof of leaf $leafIndex in $size', async (v) => {
    const leaf = await leafHash(hex(TREE_VECTORS.leaves[v.leafIndex]));
    const root = hex(TREE_VECTORS.rootsBySize[v.size - 1]);
    expect(await verifyInclusion(v.leafIndex, v.size, leaf, v.proof.map(hex), root)).toBe(true);
  });

  it('refuses a tampered proof, a wrong index, a wrong size and a short proof', async () => {
    const v = TREE_VECTORS.inclusion[2]; // leaf 5 of 8
    const leaf = await leafHash(hex(TREE_VECTORS.leaves[v.leafIndex]));
    const root = hex(TREE_VECTORS.rootsBySize[7]);
    const proof = v.proof.map(hex);
    const tampered = proof.map((p) => Uint8Array.from(p));
    tampered[1][0] ^= 1;
    expect(await verifyInclusion(5, 8, leaf, tampered, root)).toBe(false);
    expect(await verifyInclusion(4, 8, leaf, proof, root)).toBe(false);
    expect(await verifyInclusion(5, 6, leaf, proof, root)).toBe(false);
    expect(await rootFromInclusionProof(5, 8, leaf, proof.slice(0, 2))).toBeNull();
    expect(await rootFromInclusionProof(8, 8, leaf, proof)).toBeNull();
  });
});

describe('C2SP signed notes', () => {
  it('opens the reference note with its key', async () => {
    const verifier = await parseVerifierKey(NOTE_VECTOR.verifierKey);
    expect(verifier.name).toBe(NOTE_VECTOR.name);
    expect(await openNote(NOTE_VECTOR.note, verifier)).toBe(NOTE_VECTOR.text);
  });

  it('refuses a changed text, a wrong key and a key whose ID does not match', async () => {
    const verifier = await parseVerifierKey(NOTE_VECTOR.verifierKey);
    await expect(openNote(NOTE_VECTOR.note.replace('cryptography', 'cryptographY'), verifier)).rejects.toThrow(
      'does not verify',
    );
    const other = await parseVerifierKey(otherKey.verifierKey);
    await expect(openNote(NOTE_VECTOR.note, other)).rejects.toThrow('no signature of');
    await expect(parseVerifierKey(NOTE_VECTOR.verifierKey.replace('+c74f20a3+', '+c74f20a4+'))).rejects.toThrow(
      'key ID',
    );
  });
});

// A log of 32-byte chain hashes signed with the reference key, built here with node:crypto (a second implementation).
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const nodeLeaf = (d: Uint8Array) => sha(Uint8Array.of(0), d);
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return nodeLeaf(leaves[0]);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha(Uint8Array.of(1), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function path(m: number, leaves: Uint8Array[]): Uint8Array[] {
  if (leaves.length === 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k
    ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}
function signNote(text: string, name: string, keyIdHex: string, seed: Uint8Array): string {
  const key = createPrivateKey(ed25519SeedToPem(seed));
  const sig = new Uint8Array(sign(null, Buffer.from(text, 'utf8'), key));
  return `${text}\n\u2014 ${name} ${toBase64(new Uint8Array([...fromHex(keyIdHex), ...sig]))}\n`;
}
const seed = new Uint8Array(seedOfGoPrivateKey(NOTE_VECTOR.privateKey));
const otherKey = (() => {
  // A second key (another seed) under the same name: a note it signed must not pass with the reference key.
  const otherSeed = sha(new TextEncoder().encode('another seed'));
  const pub = createPrivateKey(ed25519SeedToPem(otherSeed)).export({ format: 'jwk' }).x as string;
  const material = new Uint8Array([1, ...Buffer.from(pub, 'base64url')]);
  const id = toHex(sha(new TextEncoder().encode(`${NOTE_VECTOR.name}\n`), material).subarray(0, 4));
  return { seed: otherSeed, id, verifierKey: `${NOTE_VECTOR.name}+${id}+${toBase64(material)}` };
})();

describe('checkInclusion (the conversation view’s "verified")', () => {
  const chainHashes = Array.from({ length: 11 }, (_, i) => sha(new TextEncoder().encode(`event ${i}`)));
  const size = 11;
  const checkpointText = `${NOTE_VECTOR.name}\n${size}\n${toBase64(mth(chainHashes))}\n`;
  const note = signNote(checkpointText, NOTE_VECTOR.name, 'c74f20a3', seed);
  const proofOf = (i: number, n = size): InclusionProof => ({
    leafIndex: i,
    treeSize: n,
    leafHash: toBase64(nodeLeaf(chainHashes[i])),
    hashes: path(i, chainHashes.slice(0, n)).map(toBase64),
  });

  it('verifies every leaf of a signed checkpoint', async () => {
    expect(parseCheckpoint(await openNote(note, await parseVerifierKey(NOTE_VECTOR.verifierKey))).size).toBe(11);
    for (let i = 0; i < size; i++) {
      const result = await checkInclusion({
        note,
        verifierKey: NOTE_VECTOR.verifierKey,
        eventHash: toHex(chainHashes[i]),
        fetchProof: async (treeSize) => proofOf(i, treeSize),
      });
      expect(result).toMatchObject({ status: 'verified', treeSize: 11, leafIndex: i });
    }
  });

  it('says "no pinned verifier key" without one, and never fetches the proof', async () => {
    const fetchProof = jest.fn();
    const result = await checkInclusion({ note, verifierKey: undefined, eventHash: toHex(chainHashes[0]), fetchProof });
    expect(result).toEqual({ status: 'not-verified', why: 'no pinned verifier key' });
    expect(fetchProof).not.toHaveBeenCalled();
  });

  it('refuses a checkpoint signed with another key than the pinned one', async () => {
    const forged = signNote(checkpointText, NOTE_VECTOR.name, otherKey.id, otherKey.seed);
    const result = await checkInclusion({
      note: forged,
      verifierKey: NOTE_VECTOR.verifierKey,
      eventHash: toHex(chainHashes[3]),
      fetchProof: async (n) => proofOf(3, n),
    });
    expect(result).toMatchObject({ status: 'not-verified', why: expect.stringContaining('no signature of') });
  });

  it('refuses a tampered proof, another event, and a proof of another size', async () => {
    const tampered = proofOf(4);
    const bytes = fromHex(toHex(new Uint8Array(Buffer.from(tampered.hashes[0], 'base64'))));
    bytes[31] ^= 0x80;
    tampered.hashes[0] = toBase64(bytes);
    const run = (eventHash: string, proof: InclusionProof) =>
      checkInclusion({ note, verifierKey: NOTE_VECTOR.verifierKey, eventHash, fetchProof: async () => proof });
    expect(await run(toHex(chainHashes[4]), tampered)).toMatchObject({
      status: 'not-verified',
      why: expect.stringContaining('another root'),
    });
    expect(await run(toHex(chainHashes[5]), proofOf(4))).toMatchObject({ status: 'not-verified' });
    expect(await run(toHex(chainHashes[4]), proofOf(4, 10))).toMatchObject({
      status: 'not-verified',
      why: expect.stringContaining('10 leaves'),
    });
  });

  it('says "not yet" when the signed tree does not hold the event yet', async () => {
    const result = await checkInclusion({
      note,
      verifierKey: NOTE_VECTOR.verifierKey,
      eventHash: toHex(sha(new TextEncoder().encode('event 11'))),
      fetchProof: async () => null,
    });
    expect(result).toEqual({ status: 'not-yet', treeSize: 11 });
  });
});
