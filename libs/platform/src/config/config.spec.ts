import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config';

describe(loadConfig.name, () => {
  it('defaults to port 3000, info logs and an embedded database in ./data', () => {
    expect(loadConfig({})).toMatchObject({ port: 3000, logLevel: 'info', dataDir: './data', databaseUrl: undefined });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ DATABASE_URL: 'mysql://x@y/z' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ POLICY_FILE: '/nonexistent/policy.json' }, 'POLICY_FILE'],
    [{ DB_POOL_SIZE: '0' }, 'DB_POOL_SIZE'],
    [{ PROJECTIONS_IN_PROCESS: 'maybe' }, 'PROJECTIONS_IN_PROCESS'],
    [{ RATE_LIMITS: 'sometimes' }, 'RATE_LIMITS'],
    [{ RATE_LIMIT_PER_KEY: '0' }, 'RATE_LIMIT_PER_KEY'],
    [{ AUDIT_MAX_CONCURRENT: 'many' }, 'AUDIT_MAX_CONCURRENT'],
    [{ MAX_CONVERSATION_BYTES: '10' }, 'MAX_CONVERSATION_BYTES'],
  ])('refuses %p naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });

  it('has generous limits by default, and RATE_LIMITS=off switches the buckets off', () => {
    expect(loadConfig({}).limits).toMatchObject({
      rateLimits: true,
      perKey: 1000,
      keyBurst: 2000,
      maxConversationEvents: 50_000,
      maxConversationBytes: 200 * 1024 * 1024,
    });
    expect(loadConfig({ RATE_LIMITS: 'off' }).limits.rateLimits).toBe(false);
  });

  it('reads the policy file as JSON and names it when it is not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'good.json'), '{"version": 2}');
    writeFileSync(join(dir, 'bad.json'), '{version');
    expect(loadConfig({ POLICY_FILE: join(dir, 'good.json') }).policyJson).toEqual({ version: 2 });
    expect(() => loadConfig({ POLICY_FILE: join(dir, 'bad.json') })).toThrow(/POLICY_FILE is not valid JSON/);
  });
});
