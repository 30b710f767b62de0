/** `cmd --flag value --switch` → { command, flags }. */
export function parseArgs(argv: string[]): {
  command: string | undefined;
  positional: string[];
  flags: Record<string, string | true>;
} {
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

/** A misspelt flag (`--expire 90d`) must not be silently ignored: only `allowed` are accepted. */
export function refuseUnknownFlags(flags: Record<string, string | true>, allowed: readonly string[]): void {
  const unknown = Object.keys(flags).find((name) => !allowed.includes(name));
  if (unknown !== undefined)
    throw new UsageError(`unknown flag --${unknown} (allowed: ${allowed.map((a) => `--${a}`).join(', ')})`);
}

/** An optional flag's value; given without one, it is an error naming the flag. */
export function optionalFlag(flags: Record<string, string | true>, name: string): string | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} needs a value`);
  return v;
}
