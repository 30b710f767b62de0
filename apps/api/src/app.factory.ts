import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule, AppOptions } from './app.module';
import { installRefusals, refusalOptions } from './common/fastify-refusals';
import { MetricsService } from './metrics/metrics.service';
import { buildOpenApiDocument } from './openapi/openapi-document';

export const BODY_LIMIT = 1024 * 1024;

/** Builds the HTTP application (used by main.ts and by the end-to-end tests). */
export async function createApp(options: AppOptions & { logger?: boolean }): Promise<NestFastifyApplication> {
  // forceCloseConnections: SSE streams must not keep a closing server (and its database) alive.
  const adapter = new FastifyAdapter({ bodyLimit: BODY_LIMIT, trustProxy: false, forceCloseConnections: true, ...refusalOptions() });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(options), adapter, {
    bufferLogs: true,
    // Fastify's own JSON parser only: JSON in, anything else is 415 (no form bodies).
    bodyParser: false,
    logger: options.logger === false ? false : undefined,
  });
  if (options.logger !== false) app.useLogger(app.get(Logger));

  const fastify = app.getHttpAdapter().getInstance();
  installRefusals(fastify);
  const metrics = app.get(MetricsService);
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json', yamlDocumentUrl: 'docs/openapi.yaml' });

  return app;
}
