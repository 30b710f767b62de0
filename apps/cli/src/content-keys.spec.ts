import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '@app/platform';
import { readMasterKeyFile } from '@app/privacy';
import { contentKeyCreate } from './commands/content-key.command';
import { contentKeyFileOf } from './content-keys';

describe('the CLI and the content master key', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cli-content-key-'));
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given content-key:create --out, then it writes a key readable by its owner only, and never overwrites it', () => {
    const out = join(dir, 'content-key');
    expect(contentKeyCreate({ out })).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const written = readFileSync(out, 'utf8');
    expect(readMasterKeyFile(out).id).toMatch(/^local:[0-9a-f]{16}$/);
    expect(contentKeyCreate({ out })).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe(written);
  });

  it('given DATABASE_URL without CONTENT_KEY_FILE, then a content command stops, naming the variable', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db', DATA_DIR: dir });
    expect(() => contentKeyFileOf(config, false)).toThrow(ConfigError);
    expect(() => contentKeyFileOf(config, false)).toThrow(/CONTENT_KEY_FILE/);
  });

  it('given the embedded server, then the default key in DATA_DIR is used (made once, 0600)', () => {
    const config = loadConfig({ DATA_DIR: dir });
    const file = contentKeyFileOf(config, true);
    expect(file).toBe(join(dir, 'content-key'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = readFileSync(file, 'utf8');
    expect(contentKeyFileOf(config, true)).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(key);
  });

  it('given CONTENT_KEY_FILE, then it is the key, embedded or not', () => {
    const out = join(dir, 'given');
    contentKeyCreate({ out });
    expect(contentKeyFileOf(loadConfig({ CONTENT_KEY_FILE: out, DATA_DIR: dir }), true)).toBe(out);
  });
});
