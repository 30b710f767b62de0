import { parseArgs, requireFlag, UsageError } from './args';

describe(parseArgs.name, () => {
  it('reads the command, flags with values, inline values and switches', () => {
    expect(parseArgs(['keys:create', 'x', '--role', 'admin', '--tenant=*', '--dry'])).toEqual({
      command: 'keys:create',
      positional: ['x'],
      flags: { role: 'admin', tenant: '*', dry: true },
    });
  });

  it('refuses a missing required flag', () => {
    expect(() => requireFlag({ role: true }, 'role')).toThrow(UsageError);
  });
});
