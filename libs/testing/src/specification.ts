// Given/when/then for deciders: given the stream so far, when a command is decided, then these
// events are appended, or the command is refused. Generic: it knows no domain.

export interface Decider<Command, Event, State, RecordedEvent = Event> {
  decide: (command: Command, state: State) => readonly Event[];
  evolve: (state: State, event: RecordedEvent) => State;
  initialState: () => State;
}

export interface DecisionAssertions<Event> {
  /** The appended events, compared strictly (an `undefined` field differs from an absent one). */
  then(expectedEvents: readonly Event[]): void;
  /**
   * The command is refused with an error whose `code` is the string given, or which matches
   * the object given (e.g. `{ code, details }`). Returns the error for further checks.
   */
  thenThrows(expected: string | Record<string, unknown>): unknown;
}

export interface GivenHistory<Command, Event> {
  when(command: Command): DecisionAssertions<Event>;
}

export interface DeciderSpec<Command, Event, RecordedEvent> {
  given(events?: readonly RecordedEvent[]): GivenHistory<Command, Event>;
}

type Outcome<Event> = { refused: false; events: readonly Event[] } | { refused: true; error: unknown };

const describeOutcome = <Event>(outcome: Outcome<Event>): string =>
  outcome.refused ? `refused with ${String(outcome.error)}` : `appended ${JSON.stringify(outcome.events)}`;

export const DeciderSpecification = {
  for<Command, Event, State, RecordedEvent = Event>(
    decider: Decider<Command, Event, State, RecordedEvent>,
  ): DeciderSpec<Command, Event, RecordedEvent> {
    return {
      given: (history = []) => ({
        when: (command) => {
          const decideOnce = (): Outcome<Event> => {
            const state = history.reduce(decider.evolve, decider.initialState());
            try {
              return { refused: false, events: decider.decide(command, state) };
            } catch (error) {
              return { refused: true, error };
            }
          };
          return {
            then: (expectedEvents) => {
              const outcome = decideOnce();
              if (outcome.refused) throw outcome.error;
              expect(outcome.events).toStrictEqual(expectedEvents);
            },
            thenThrows: (expected) => {
              const outcome = decideOnce();
              if (!outcome.refused) {
                throw new Error(`Expected the command to be refused, but it ${describeOutcome(outcome)}`);
              }
              expect(outcome.error).toMatchObject(typeof expected === 'string' ? { code: expected } : expected);
              return outcome.error;
            },
          };
        },
      }),
    };
  },
};
