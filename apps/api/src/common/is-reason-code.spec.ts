import { BlockedEndsQueryDto, EndFiltersDto, SampleQueryDto } from '../audit/dto/audit-query.dto';
import { EndConversationDto, IssueWarningDto, ReviewEndDecisionDto } from '../conversations/dto/command-bodies.dto';
import { reasonCodeFieldsOf } from './is-reason-code';

describe(reasonCodeFieldsOf.name, () => {
  it('names the reason-code fields of a DTO for KnownReasonCodesPipe', () => {
    expect(
      [EndConversationDto, ReviewEndDecisionDto, BlockedEndsQueryDto, EndFiltersDto].map(reasonCodeFieldsOf),
    ).toEqual([['reasonCode'], ['newReasonCode'], ['reasonCode'], ['reasonCode']]);
  });

  it('finds the fields a DTO inherits', () => {
    expect(reasonCodeFieldsOf(SampleQueryDto)).toEqual(['reasonCode']);
  });

  it('leaves out a warning’s reasonCode: a harm category, not versioned', () => {
    expect(reasonCodeFieldsOf(IssueWarningDto)).toEqual([]);
  });

  it.each([undefined, String, Object])('names none for %p', (type) => {
    expect(reasonCodeFieldsOf(type)).toEqual([]);
  });
});
