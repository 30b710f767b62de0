import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { Logger as StartLogger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { AppModule, AppOptions } from './app.module';
import { recordUnrecordedKeys } from '@app/access';
import { loadPolicies, PolicyBook } from './conversations/policies';
import { registerPolicies } from './conversations/policy-versions';
import { BODY_LIMIT } from './common/body-limit';
import { installRefusals, refusalOptions } from './common/fastify-refusals';
import { installJsonBody } from './common/json-body';
import { installConsole } from './console/console-files';
import { capConnectionsPerAddress } from './limits/connection-limits';
import { RateLimits } from './limits/rate-limits';
import { MetricsService } from './metrics/metrics.service';
import { buildOpenApiDocument } from './openapi/openapi-document';

export { BODY_LIMIT };

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
}

/**
 * Builds the HTTP application (used by main.ts and by the end-to-end tests). `documentOnly`:
 * built to write its OpenAPI document, never served, so it records nothing and touches no database.
 */
export async function createApp(
  options: AppOptions & { logger?: boolean; documentOnly?: boolean },
): Promise<NestFastifyApplication> {
  if (!options.documentOnly) options = { ...options, policies: await recordAdministrativeFacts(options) };
  // forceCloseConnections: SSE streams must not keep a closing server (and its database) alive.
  // TLS_CERT_FILE and TLS_KEY_FILE: HTTPS served by the process itself (else put it behind TLS).
  const { tls, limits } = options.config;
  // A request (headers and body) must arrive within HTTP_REQUEST_TIMEOUT_MS, else 408: Fastify's
  // default (0) let a body that never ends hold its connection for ever. Given to Node's server
  // at its creation (set later, Node applies it to headers only), checked this often.
  const requestTimeout = limits.httpRequestTimeoutMs;
  const server = {
    requestTimeout,
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(requestTimeout / 4))),
  };
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    trustProxy: false,
    forceCloseConnections: true,
    requestTimeout,
    ...refusalOptions(),
    // A caller's X-Request-Id (a plain token) is kept, else a UUID: logs and answers share it.
    requestIdHeader: false,
    genReqId: requestId,
    ...(tls ? { https: { cert: tls.cert, key: tls.key, ...server } } : { http: server }),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(options), adapter, {
    bufferLogs: true,
    // A DataSource that cannot connect fails here: reject (main says why and exits), never exit
    // the process from inside Nest (its default), which would also end a test runner.
    abortOnError: false,
    // Fastify's own JSON parser only: JSON in, anything else is 415 (no form bodies).
    bodyParser: false,
    logger: options.logger === false ? false : undefined,
  });
  if (options.logger !== false) app.useLogger(app.get(Logger));

  const fastify = app.getHttpAdapter().getInstance();
  if (limits.rateLimits) capConnectionsPerAddress(fastify.server, limits.maxConnectionsPerAddress);
  installRefusals(fastify);
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.raw.setHeader('x-request-id', request.id);
    done();
  });
  installJsonBody(fastify);
  app.get(RateLimits).install(fastify);
  installConsole(fastify, options.config.console);
  const metrics = app.get(MetricsService);
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs/openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
  });

  return app;
}

/**
 * Before the service serves anything: the policy versions it decides under are stored (and a
 * POLICY_FILE that changes a stored version refused: ConfigError naming it), and keys made
 * before keys had events get their events.
 */
async function recordAdministrativeFacts(options: AppOptions & { logger?: boolean }): Promise<PolicyBook> {
  const log = new StartLogger('Start');
  const client = new Client({ connectionString: options.databaseUrl, application_name: 'conversation-service-start' });
  await client.connect();
  try {
    const policies = await registerPolicies(client, options.policies ?? loadPolicies(options.config.policyJson), (m) =>
      log.warn(m),
    );
    const backfilled = await recordUnrecordedKeys(client);
    if (backfilled > 0) log.log(`recorded the creation of ${backfilled} API keys made before keys had events`);
    return policies;
  } finally {
    await client.end().catch(() => undefined);
  }
}
