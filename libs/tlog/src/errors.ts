/** A signed note, verifier key or checkpoint that is malformed or whose signatures do not check. */
export class NoteError extends Error {
  override readonly name = 'NoteError';
}
