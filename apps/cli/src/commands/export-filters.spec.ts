import { UsageError } from '../args';
import { parseExportFilters } from './export-filters';
import { defaultExportFile, manifestFileOf } from './export.command';

const refusal = (flags: Record<string, string | true>): string => {
  try {
    parseExportFilters(flags);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(flags)}`);
};

// The CLI checks its flags itself (no DTO of apps/api), by the rules in @app/audit, and says
// what the API's 400 says.
describe('export filters', () => {
  it('takes every filter of /v1/audit/ends, the policy version as a number', () => {
    const flags = {
      format: 'jsonl',
      out: 'x.jsonl',
      reasonCode: 'USER_REQUESTED',
      initiator: 'operator',
      modelId: 'claude-opus-4-1',
      tenantId: 'acme',
      policyVersion: '2',
      reviewOutcome: 'none',
      from: '2025-04-01',
      to: '2025-04-30T00:00:00+02:00',
    };
    expect(parseExportFilters(flags)).toEqual({
      reasonCode: 'USER_REQUESTED',
      initiator: 'operator',
      modelId: 'claude-opus-4-1',
      tenantId: 'acme',
      policyVersion: 2,
      reviewOutcome: 'none',
      from: '2025-04-01',
      to: '2025-04-30T00:00:00+02:00',
    });
    expect(parseExportFilters({ format: 'jsonl' })).toEqual({});
  });

  it.each([
    [
      { colour: 'red' },
      'unknown flag --colour; ' +
        'filters: --reasonCode --initiator --modelId --tenantId --policyVersion --reviewOutcome --from --to',
    ],
    [{ modelId: true }, '--modelId needs a value'],
    [{ reasonCode: 'rudeness' }, 'reasonCode must be a reason code: upper-case letters, digits and _'],
    [{ initiator: 'user' }, 'initiator must be one of: model, operator'],
    [{ modelId: '-x' }, 'modelId must be 1-128 letters, digits or . _ : @ -'],
    [
      { tenantId: 'a'.repeat(65) },
      'tenantId must be shorter than or equal to 64 characters; tenantId must be 1-64 letters, digits, ".", "_" or "-"',
    ],
    [{ policyVersion: '0' }, 'policyVersion must not be less than 1'],
    [{ policyVersion: '1.5' }, 'policyVersion must be an integer number'],
    [{ policyVersion: '2147483648' }, 'policyVersion must not be greater than 2147483647'],
    [{ reviewOutcome: 'bogus' }, 'reviewOutcome must be one of: upheld, overturned, reclassified, none'],
    [{ from: '2025-02-30' }, 'from must be a real calendar date'],
    [{ from: '2025-04-01T10:00' }, 'from must be an ISO 8601 date or date-time with Z or an offset'],
    [{ to: '9999-12-31T23:00:00-02:00' }, 'to must lie between the years 0001 and 9999 (UTC)'],
    [
      { initiator: 'user', from: 'soon' },
      'initiator must be one of: model, operator; from must be an ISO 8601 date or date-time with Z or an offset; ' +
        'from must be a real calendar date; from must lie between the years 0001 and 9999 (UTC)',
    ],
  ])('refuses %j: %s', (flags, message) => {
    expect(refusal(flags as Record<string, string | true>)).toBe(message);
  });

  it('names its file audit-export-<timestamp>.jsonl by default', () => {
    expect(defaultExportFile(new Date('2025-08-20T10:11:12.123Z'))).toBe('audit-export-2025-08-20T10-11-12-123Z.jsonl');
    expect(manifestFileOf('audit-export-2025-08-20T10-11-12-123Z.jsonl')).toBe(
      'audit-export-2025-08-20T10-11-12-123Z.manifest.json',
    );
  });
});
