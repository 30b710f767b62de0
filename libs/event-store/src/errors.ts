/** Errors of the store carry the stable codes of the public contract. */
export abstract class EventStoreError extends Error {
  abstract readonly code: string;
}

export class VersionConflict extends EventStoreError {
  readonly code = 'VERSION_CONFLICT';
  constructor(
    readonly streamId: string,
    readonly expected: string,
    readonly actual: number,
  ) {
    super(`stream ${streamId} is at version ${actual}, expected ${expected}`);
  }
}

export class IdempotencyKeyReused extends EventStoreError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor(readonly key: string) {
    super(`idempotency key ${key} was already used for another request`);
  }
}

export class InvalidEvent extends EventStoreError {
  readonly code = 'VALIDATION_FAILED';
}

export class InvalidPosition extends EventStoreError {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly value: string) {
    super(`not a position: ${value.slice(0, 80)}`);
  }
}
