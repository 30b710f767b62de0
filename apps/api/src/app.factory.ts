import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule, AppOptions } from './app.module';
import { RateLimits } from './limits/rate-limits';
import { MetricsService } from './metrics/metrics.service';

export const BODY_LIMIT = 1024 * 1024;

/** Builds the HTTP application (used by main.ts and by the end-to-end tests). */
export async function createApp(options: AppOptions & { logger?: boolean }): Promise<NestFastifyApplication> {
  // forceCloseConnections: SSE streams must not keep a closing server (and its database) alive.
  const adapter = new FastifyAdapter({ bodyLimit: BODY_LIMIT, trustProxy: false, forceCloseConnections: true });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(options), adapter, {
    bufferLogs: true,
    // Fastify's own JSON parser only: JSON in, anything else is 415 (no form bodies).
    bodyParser: false,
    logger: options.logger === false ? false : undefined,
  });
  if (options.logger !== false) app.useLogger(app.get(Logger));

  const fastify = app.getHttpAdapter().getInstance();
  app.get(RateLimits).install(fastify);
  const metrics = app.get(MetricsService);
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Conversation service')
      .setDescription(
        'Event-sourced conversations between people and AI models: append-only, hash-chained streams in PostgreSQL, guarded conversation ends, and the audit API. Errors are RFC 9457 application/problem+json with a stable `code`.',
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key from `npm run cli -- keys:create`' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json', yamlDocumentUrl: 'docs/openapi.yaml' });

  return app;
}
