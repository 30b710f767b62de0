import 'reflect-metadata';
import type { DataSource } from 'typeorm';
import {
  ConfigError,
  loadConfig,
  openRuntimeDataSource,
  poolOf,
  resolveDatabase,
  runMigrations,
  tuneRuntime,
} from '@app/platform';
import { contentSealer, MasterKeyError, readMasterKeyRing } from '@app/privacy';
import { ApiKeyEntity } from '@app/access';
import { parseArgs, UsageError } from './args';
import { keysCreate } from './commands/keys-create.command';
import { keysList } from './commands/keys-list.command';
import { keysRevoke } from './commands/keys-revoke.command';
import { verify } from './commands/verify.command';
import { projectionsRebuild, projectionsStatus } from './commands/projections.command';
import { seed } from './commands/seed.command';
import { contentKeyCreate } from './commands/content-key.command';
import { cliContentKeys, contentKeyFileOf } from './content-keys';

import { exportBundleCommand, exportCommand } from './commands/export.command';
import {
  checkpointCommand,
  signingKeyCreate,
  signingKeyFileOf,
  verifyCheckpoint,
} from './commands/transparency-log.command';
import { retentionList, retentionRun, retentionSet } from './commands/retention.command';
import { contentKeysRewrap, contentKeysStatus } from './commands/content-keys.command';

const USAGE =
  `usage: npm run cli -- <command>
  migrate                                              apply pending migrations
  keys:create --role <writer|operator|auditor|admin> --tenant <id|*> [--holder <name>] [--label <text>] ` +
  `[--expires <n>d] [--actor <name>]
                                                       create an API key; prints it alone on its last line
  keys:list                                            every key (id, label, holder, role, tenant, times); never the key
  keys:revoke <keyId> [--reason <text>] [--actor <name>]
                                                       revoke a key in every API process within a second
  verify [--conversation <id>]                         recompute hash chains (exit 1 when broken)
  verify --checkpoint <file> [--key <verifier key>]    recompute the Merkle tree from the log and check it against
                                                       a signed checkpoint kept elsewhere (exit 1 naming the first
                                                       leaf that differs); key: --key, else SIGNING_KEY_FILE's
  signing-key:create --out <file>                      a new Ed25519 signing key (PKCS#8 PEM, mode 0600)
  content-key:create --out <file>                      a new master key for CONTENT_KEY_FILE (mode 0600; never
                                                       overwrites a file): back it up apart from the database
  checkpoint                                           sign a checkpoint of the log now; prints the note
  projections:status                                   each projection's checkpoint and lag
  projections:rebuild [name]                           rebuild one or all projections from the log
  export --format jsonl [--reasonCode --initiator --modelId --tenantId --policyVersion --reviewOutcome --from --to] ` +
  `[--out <file>]
                                                       audit export and its manifest; prints the manifest's SHA-256
  export --bundle <dir> [the same filters]             the signed audit bundle (events, proofs, checkpoint, key,
                                                       signed manifest) in a new or empty directory, signed with
                                                       SIGNING_KEY_FILE's key; check it: npx conversation-audit-verify
  retention:set --tenant <id> (--days <1-36500> | --off) [--actor <name>]
                                                       keep a tenant's content that many days after a conversation's
                                                       last event (off by default); recorded as an event
  retention:list                                       every tenant's retention setting
  retention:run [--tenant <id>]                        one retention run now (the projector runs one every
                                                       RETENTION_INTERVAL seconds); prints the counts
  content-keys:status                                  live and destroyed content keys per master key
  content-keys:rewrap [--batch 500]                    wrap every live content key by CONTENT_KEY_FILE's master key,
                                                       unwrapping with CONTENT_KEY_PREVIOUS_FILES (no event rewritten)
  seed [--events 30000] [--tenants 3] [--seed 42] [--from <28 days ago>] [--days 28] [--concurrency 16]
                                                       write realistic conversations through the store
Key commands record who acted: --actor <name>, else the OS user (always recorded beside it).
Environment: DATABASE_URL (runtime), MIGRATION_DATABASE_URL (owner, for migrations; default DATABASE_URL),
READ_DATABASE_URL (a streaming replica: export --format jsonl reads there), CONTENT_KEY_FILE (the master key
export and seed open and seal content with; required with DATABASE_URL);
else the embedded server of ./data (migrations as its superuser, the rest as its service login).`;

async function main(argv: string[]): Promise<number> {
  tuneRuntime();
  const { command, flags, positional } = parseArgs(argv);
  if (!command || command === 'help' || flags.help) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'signing-key:create') return signingKeyCreate(flags);
  if (command === 'content-key:create') return contentKeyCreate(flags);
  const config = loadConfig();
  const database = await resolveDatabase(config, (line) => console.error(line));
  // The runtime's rights and its idle-in-transaction timeout, but no statement timeout: an
  // operator's rebuild or export of a large log may run one long statement. Opened after the
  // migrations, by the commands that need it; the SQL written by hand runs on its pool.
  const cli = { max: 10, connectTimeoutMs: 0, applicationName: 'conversation-cli' };
  const settings = { ...config, dbStatementTimeoutMs: 0, ...cli };
  const readSettings = { ...settings, applicationName: 'conversation-cli (replica)' };
  const open = () => openRuntimeDataSource(database.url, settings, [ApiKeyEntity]);
  let dataSource: DataSource | undefined;
  const db = async () => (dataSource ??= await open());
  const pool = async () => poolOf(await db());
  // READ_DATABASE_URL: the NDJSON export (it only reads) runs on the replica, as the service's does.
  let replica: DataSource | undefined;
  const readPool = async () =>
    config.readDatabaseUrl
      ? poolOf((replica ??= await openRuntimeDataSource(config.readDatabaseUrl, readSettings, [])))
      : pool();
  const migrate = () => runMigrations(database.migrationUrl);
  const keyFile = () => signingKeyFileOf(config, database.source !== 'DATABASE_URL');
  // Content is sealed and opened under CONTENT_KEY_FILE's master key (the embedded default's in DATA_DIR).
  const contentKeys = async () => cliContentKeys(await pool(), config, database.source !== 'DATABASE_URL');
  const masterKeys = () =>
    readMasterKeyRing(
      contentKeyFileOf(config, database.source !== 'DATABASE_URL'),
      config.contentKeys.previousKeyFiles,
    );
  try {
    switch (command) {
      case 'migrate': {
        const applied = await migrate();
        console.log(applied.length ? `applied: ${applied.join(', ')}` : 'nothing to apply: the schema is current');
        return 0;
      }
      case 'keys:create':
        await migrate();
        await keysCreate(await db(), flags);
        return 0;
      case 'keys:list':
        await migrate();
        await keysList(await db(), flags);
        return 0;
      case 'keys:revoke':
        await migrate();
        return await keysRevoke(await db(), positional, flags);
      case 'verify':
        if (flags.checkpoint !== undefined) {
          await migrate();
          return await verifyCheckpoint(await pool(), flags, keyFile());
        }
        return await verify(await pool(), flags);
      case 'checkpoint':
        await migrate();
        return await checkpointCommand(await pool(), config, keyFile());
      case 'projections:status':
        await migrate();
        await projectionsStatus(await pool());
        return 0;
      case 'projections:rebuild':
        await migrate();
        await projectionsRebuild(await pool(), positional[0]);
        return 0;
      case 'export':
        await migrate();
        if (flags.bundle !== undefined)
          return await exportBundleCommand(await pool(), flags, config, keyFile(), await contentKeys());
        return await exportCommand(await readPool(), flags, await contentKeys());
      case 'retention:set':
        await migrate();
        await retentionSet(await pool(), flags);
        return 0;
      case 'retention:list':
        await migrate();
        await retentionList(await pool(), flags);
        return 0;
      case 'retention:run':
        await migrate();
        return await retentionRun(await pool(), flags);
      case 'content-keys:status': {
        await migrate();
        let current: string | undefined;
        try {
          current = masterKeys().current.id;
        } catch {
          current = undefined; // the counts need no master key
        }
        await contentKeysStatus(await pool(), flags, current);
        return 0;
      }
      case 'content-keys:rewrap': {
        const ring = masterKeys();
        await migrate();
        await contentKeysRewrap(await pool(), flags, ring);
        return 0;
      }
      case 'seed':
        await migrate();
        await seed(await pool(), flags, contentSealer(await contentKeys()));
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    await dataSource?.destroy();
    await replica?.destroy();
    await database.release();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    console.error(err instanceof ConfigError || err instanceof MasterKeyError ? err.message : err);
    process.exit(1);
  },
);
