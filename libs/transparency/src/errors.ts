/** The event is not a leaf of the tree of that size (unknown, not sequenced yet, or beyond it). */
export class NotInTree extends Error {
  readonly code = 'NOT_IN_TREE';
}

/** A tree size beyond the current tree, or sizes in the wrong order. */
export class InvalidTreeSize extends Error {}

/** The sequencer has not reached a log position in time (try again). */
export class LogBehind extends Error {}

/** Nothing is signed (yet), or no key to sign with. */
export class NoCheckpoint extends Error {}
