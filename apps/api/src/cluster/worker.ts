import type { AppConfig, ResolvedDatabase } from '@app/platform';

/**
 * What a worker needs beyond the operator's environment: the runtime connection the primary
 * resolved (the embedded server's login too: a worker never starts or migrates a database) and
 * the signing and content master keys the primary made sure of. The owner's URL stays with the primary.
 */
export function workerEnv(config: AppConfig, database: ResolvedDatabase): Record<string, string> {
  return {
    DATABASE_URL: database.url,
    MIGRATION_DATABASE_URL: '',
    ...(config.transparencyLog.signingKeyFile ? { SIGNING_KEY_FILE: config.transparencyLog.signingKeyFile } : {}),
    ...(config.contentKeys.keyFile ? { CONTENT_KEY_FILE: config.contentKeys.keyFile } : {}),
  };
}
