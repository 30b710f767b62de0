// The conversation's inclusion proof checked in the browser against a signed checkpoint and a PINNED
// verifier key: the server being checked supplies the note and the proof, never the key.
import { fromBase64, fromHex, toBase64 } from './bytes';
import { leafHash, rootFromInclusionProof } from './merkle';
import { NoteError, openNote, parseCheckpoint, parseVerifierKey } from './note';
import { equal } from './bytes';

export interface InclusionProof {
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  hashes: string[];
}

export type ProofCheck =
  | { status: 'verified'; treeSize: number; leafIndex: number; origin: string; rootHash: string }
  | { status: 'not-verified'; why: string }
  | { status: 'not-yet'; treeSize: number };

export interface ProofCheckInput {
  /** The signed checkpoint as served (`GET /v1/audit/log/checkpoint`). */
  note: string;
  /** The pinned verifier key (operator's config or pasted by the auditor); undefined when none. */
  verifierKey: string | undefined;
  /** The event's chain hash (hex): the log's leaf data. */
  eventHash: string;
  /** Fetches the event's inclusion proof at this tree size; `null` when the tree does not hold it yet. */
  fetchProof(treeSize: number): Promise<InclusionProof | null>;
}

export async function checkInclusion(input: ProofCheckInput): Promise<ProofCheck> {
  if (!input.verifierKey) return { status: 'not-verified', why: 'no pinned verifier key' };
  let checkpoint;
  try {
    const verifier = await parseVerifierKey(input.verifierKey);
    checkpoint = parseCheckpoint(await openNote(input.note, verifier));
  } catch (err) {
    if (err instanceof NoteError) return { status: 'not-verified', why: err.message };
    throw err;
  }
  const proof = await input.fetchProof(checkpoint.size);
  if (proof === null) return { status: 'not-yet', treeSize: checkpoint.size };
  if (proof.treeSize !== checkpoint.size) {
    return {
      status: 'not-verified',
      why: `the proof is for ${proof.treeSize} leaves, the checkpoint has ${checkpoint.size}`,
    };
  }
  let data: Uint8Array;
  try {
    data = fromHex(input.eventHash);
  } catch {
    return { status: 'not-verified', why: 'the event hash is not hex' };
  }
  if (data.length !== 32) return { status: 'not-verified', why: 'the event hash is not 32 bytes' };
  const leaf = await leafHash(data);
  const served = fromBase64(proof.leafHash);
  if (!served || !equal(served, leaf)) return { status: 'not-verified', why: 'the leaf hash is not the event’s' };
  const hashes = proof.hashes.map(fromBase64);
  if (hashes.some((h) => h === null)) return { status: 'not-verified', why: 'a proof hash is not base64' };
  const root = await rootFromInclusionProof(proof.leafIndex, proof.treeSize, leaf, hashes as Uint8Array[]);
  if (root === null) return { status: 'not-verified', why: 'the proof does not fit its index and tree size' };
  if (!equal(root, checkpoint.rootHash)) {
    return { status: 'not-verified', why: 'the proof leads to another root than the signed checkpoint’s' };
  }
  return {
    status: 'verified',
    treeSize: checkpoint.size,
    leafIndex: proof.leafIndex,
    origin: checkpoint.origin,
    rootHash: toBase64(root),
  };
}
