/** `cmd --flag value --switch` → { command, flags }. */
export function parseArgs(argv: string[]): { command: string | undefined; positional: string[]; flags: Record<string, string | true> } {
  const [command, ...rest] = argv;
  const flags: Record<string, string | true> = {};
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split('=', 2);
      if (inline !== undefined) flags[name] = inline;
      else if (i + 1 < rest.length && !rest[i + 1].startsWith('--')) flags[name] = rest[++i];
      else flags[name] = true;
    } else {
      positional.push(arg);
    }
  }
  return { command, positional, flags };
}

export class UsageError extends Error {}

export function requireFlag(flags: Record<string, string | true>, name: string): string {
  const v = flags[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} <value> is required`);
  return v;
}
