import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyPem, signerFromPem } from '@app/tlog';
import { ConfigError, loadConfig } from './config';

describe(loadConfig.name, () => {
  it('defaults to port 3000, info logs and an embedded database in ./data', () => {
    expect(loadConfig({})).toMatchObject({ port: 3000, logLevel: 'info', dataDir: './data', databaseUrl: undefined });
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ WORKERS: '4' }).workers).toBe(4);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ DATABASE_URL: 'mysql://x@y/z' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ POLICY_FILE: '/nonexistent/policy.json' }, 'POLICY_FILE'],
    [{ DB_POOL_SIZE: '0' }, 'DB_POOL_SIZE'],
    [{ WORKERS: '0' }, 'WORKERS'],
    [{ WORKERS: 'two' }, 'WORKERS'],
    [{ WORKERS: '65' }, 'WORKERS'],
    [{ PROJECTIONS_IN_PROCESS: 'maybe' }, 'PROJECTIONS_IN_PROCESS'],
    [{ DATABASE_URL: 'postgres://a@h/d', MIGRATION_DATABASE_URL: 'mysql://x@y/z' }, 'MIGRATION_DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://a@h/d', MIGRATION_DATABASE_URL: 'not a url' }, 'MIGRATION_DATABASE_URL'],
    [{ MIGRATION_DATABASE_URL: 'postgres://owner@h/d' }, 'MIGRATION_DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://a@h/d', READ_DATABASE_URL: 'mysql://x@y/z' }, 'READ_DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://a@h/d', READ_DATABASE_URL: 'not a url' }, 'READ_DATABASE_URL'],
    [{ READ_DATABASE_URL: 'postgres://app@replica/d' }, 'READ_DATABASE_URL'],
    [{ STRICT_DB_PRIVILEGES: 'yes' }, 'STRICT_DB_PRIVILEGES'],
    [{ DB_STATEMENT_TIMEOUT_MS: '-1' }, 'DB_STATEMENT_TIMEOUT_MS'],
    [{ DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: '1m' }, 'DB_IDLE_IN_TRANSACTION_TIMEOUT_MS'],
    [{ TLS_CERT_FILE: '/nonexistent/cert.pem' }, 'TLS_KEY_FILE'],
    [{ TLS_KEY_FILE: '/nonexistent/key.pem' }, 'TLS_CERT_FILE'],
    [{ TLS_CERT_FILE: '/nonexistent/cert.pem', TLS_KEY_FILE: '/nonexistent/key.pem' }, 'TLS_CERT_FILE'],
    [{ API_KEY_CACHE_SIZE: '0' }, 'API_KEY_CACHE_SIZE'],
    [{ RATE_LIMITS: 'sometimes' }, 'RATE_LIMITS'],
    [{ RATE_LIMIT_PER_KEY: '0' }, 'RATE_LIMIT_PER_KEY'],
    [{ AUDIT_MAX_CONCURRENT: 'many' }, 'AUDIT_MAX_CONCURRENT'],
    [{ MAX_CONVERSATION_BYTES: '10' }, 'MAX_CONVERSATION_BYTES'],
  ])('refuses %p naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });

  it('migrates with DATABASE_URL unless MIGRATION_DATABASE_URL is given', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://app@h/d' })).toMatchObject({
      migrationDatabaseUrl: 'postgres://app@h/d',
    });
    expect(
      loadConfig({ DATABASE_URL: 'postgres://app@h/d', MIGRATION_DATABASE_URL: 'postgres://owner@h/d' }),
    ).toMatchObject({
      databaseUrl: 'postgres://app@h/d',
      migrationDatabaseUrl: 'postgres://owner@h/d',
    });
  });

  it('reads the audit reads from READ_DATABASE_URL when given, else from no replica at all', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://app@h/d' })).toMatchObject({ readDatabaseUrl: undefined });
    expect(
      loadConfig({ DATABASE_URL: 'postgres://app@h/d', READ_DATABASE_URL: 'postgresql://app@replica/d' }),
    ).toMatchObject({ databaseUrl: 'postgres://app@h/d', readDatabaseUrl: 'postgresql://app@replica/d' });
  });

  it('defaults to a 30 s statement timeout, a 60 s idle-in-transaction timeout, no strict check, no TLS', () => {
    expect(loadConfig({})).toMatchObject({
      dbStatementTimeoutMs: 30_000,
      dbIdleInTransactionTimeoutMs: 60_000,
      strictDbPrivileges: false,
      tls: undefined,
    });
  });

  it('reads both TLS files, and names the one that is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'cert.pem'), 'CERT');
    writeFileSync(join(dir, 'key.pem'), 'KEY');
    const tls = loadConfig({ TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') }).tls!;
    expect([tls.cert.toString(), tls.key.toString()]).toEqual(['CERT', 'KEY']);
    expect(() => loadConfig({ TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'nope.pem') })).toThrow(
      /TLS_KEY_FILE names a file that does not exist/,
    );
  });

  it('has generous limits by default, and RATE_LIMITS=off switches the buckets off', () => {
    expect(loadConfig({}).limits).toMatchObject({
      rateLimits: true,
      perKey: 1000,
      keyBurst: 2000,
      maxConversationEvents: 50_000,
      maxConversationBytes: 200 * 1024 * 1024,
      maxConnectionsPerAddress: 1000,
      httpRequestTimeoutMs: 60_000,
    });
    expect(loadConfig({ RATE_LIMITS: 'off' }).limits.rateLimits).toBe(false);
    expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '0' })).toThrow(/HTTP_REQUEST_TIMEOUT_MS/);
  });

  it('reads the policy file as JSON and names it when it is not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'good.json'), '{"version": 2}');
    writeFileSync(join(dir, 'bad.json'), '{version');
    expect(loadConfig({ POLICY_FILE: join(dir, 'good.json') }).policyJson).toEqual({ version: 2 });
    expect(() => loadConfig({ POLICY_FILE: join(dir, 'bad.json') })).toThrow(/POLICY_FILE is not valid JSON/);
  });

  it('serves the console from dist/console unless CONSOLE_DIR names another, with no verifier keys', () => {
    expect(loadConfig({}).console).toEqual({ dir: 'dist/console', verifierKeys: [] });
    expect(loadConfig({ CONSOLE_DIR: '/srv/console', CONSOLE_VERIFIER_KEYS: ' ' }).console).toEqual({
      dir: '/srv/console',
      verifierKeys: [],
    });
  });

  it('reads CONSOLE_VERIFIER_KEYS comma-separated, and names a key that is not a verifier key', () => {
    const a = signerFromPem('log.example/a', generateSigningKeyPem()).verifierKey;
    const b = signerFromPem('log.example/b', generateSigningKeyPem()).verifierKey;
    expect(loadConfig({ CONSOLE_VERIFIER_KEYS: `${a}, ${b},` }).console.verifierKeys).toEqual([a, b]);
    // The right form with a key id that does not match its key: refused all the same.
    const forged = `${a.split('+')[0]}+00000000+${a.split('+').slice(2).join('+')}`;
    for (const bad of ['not-a-key', forged, `${a}x`]) {
      const env = { CONSOLE_VERIFIER_KEYS: `${b},${bad}` };
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(`CONSOLE_VERIFIER_KEYS holds "${bad}", which is not a verifier key`);
    }
  });

  it('runs retention every 3600 s unless RETENTION_INTERVAL says otherwise, and names it when it is bad', () => {
    expect(loadConfig({}).retention).toEqual({ intervalMs: 3_600_000 });
    expect(loadConfig({ RETENTION_INTERVAL: '60' }).retention).toEqual({ intervalMs: 60_000 });
    for (const bad of ['0', '-5', '1.5', 'hourly', '604801']) {
      expect(() => loadConfig({ RETENTION_INTERVAL: bad })).toThrow(/RETENTION_INTERVAL/);
    }
  });
});
