import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { loadConfig } from '@app/platform';
import { createApp } from '../../src/app.factory';
import { httpOf } from './test-app';
import { testContentKeyFile } from '@app/testing';

/** Another instance of the whole application on an existing database (several may share one). */
export async function startAppOn(
  databaseUrl: string,
  env: Record<string, string> = {},
  logStream?: DestinationStream,
): Promise<NestFastifyApplication> {
  const config = loadConfig({ LOG_LEVEL: 'silent', CONTENT_KEY_FILE: testContentKeyFile(), ...env });
  const app = await createApp({ config, databaseUrl, logger: false, logStream });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

/** A GET as one API key against one instance (the answer checked against its OpenAPI document). */
export const getAs = async (app: NestFastifyApplication, key: string, path: string) =>
  (await httpOf(app))().get(path).set('Authorization', `Bearer ${key}`);

/** JSON log lines written to it, parsed. */
export class LogCapture implements DestinationStream {
  readonly text: string[] = [];

  write(chunk: string): void {
    this.text.push(chunk);
  }

  get lines(): Record<string, unknown>[] {
    return this.text
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
