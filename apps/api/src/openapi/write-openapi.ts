import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { loadConfig } from '@app/platform';
import { createApp } from '../app.factory';
import { buildOpenApiDocument } from './openapi-document';

/**
 * `npm run lint:openapi`: writes the document without a database. The app is built but never
 * initialised, and its DataSources are told not to connect (documentOnly), so nothing does.
 */
async function main(): Promise<void> {
  const out = process.argv[2] ?? 'dist/openapi.json';
  const config = loadConfig({ LOG_LEVEL: 'silent' });
  const app = await createApp({
    config,
    databaseUrl: 'postgres://openapi@127.0.0.1:1/none',
    logger: false,
    documentOnly: true,
  });
  writeFileSync(out, `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`);
  console.log(`wrote ${out}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
