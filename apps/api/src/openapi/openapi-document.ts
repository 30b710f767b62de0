import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { EVERY_ROUTE_PROBLEMS, problemResponse } from '../common/api-problems.decorator';
import { CONSOLE_MEDIA_TYPES } from '../console/console-files';

type Operation = NonNullable<OpenAPIObject['paths'][string]['get']>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * The OpenAPI document of the service, from the controllers' and DTOs' decorators, plus what
 * no controller declares: the documentation routes themselves and the answers every route can
 * give (limits, rate limits, the unexpected), which come from hooks, not handlers.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Conversation service')
      .setDescription(
        'Event-sourced conversations between people and AI models: append-only, hash-chained streams in PostgreSQL, ' +
          'guarded conversation ends, and the audit API. ' +
          'Errors are RFC 9457 application/problem+json with a stable `code`; ' +
          'an unknown path is 404 NOT_FOUND ' +
          'and a known path with another method 405 METHOD_NOT_ALLOWED (with `Allow`).',
      )
      .setVersion('1')
      .addServer('/', 'This service')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key from `npm run cli -- keys:create`' })
      .build(),
  );
  // package.json's UNLICENSED: no licence is granted; the URL says what the term means.
  document.info.license = {
    name: 'UNLICENSED',
    url: 'https://docs.npmjs.com/cli/v11/configuring-npm/package-json#license',
  };
  document.paths = { ...document.paths, ...documentationPaths(), ...consolePaths() };
  // Security is each route's own (@ApiBearerAuth, or `security: []` when public); one that says
  // nothing fails `npm run lint:openapi` (security-defined) and the document's e2e test.
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      for (const entry of EVERY_ROUTE_PROBLEMS) {
        const [status, description] = Array.isArray(entry) ? entry : [entry, undefined];
        operation.responses[status] ??= problemResponse(status, description);
      }
      operation.responses = sortedByStatus(operation.responses);
    }
  }
  return document;
}

function sortedByStatus(responses: Operation['responses']): Operation['responses'] {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

/** The routes SwaggerModule.setup serves (app.factory.ts): public, no database. */
function documentationPaths(): OpenAPIObject['paths'] {
  const page = (summary: string, operationId: string, type: string, schema: object): Operation => ({
    summary,
    operationId,
    tags: ['documentation'],
    security: [],
    responses: { 200: { description: summary, content: { [type]: { schema } } } },
  });
  return {
    '/docs': { get: page('This API in Swagger UI', 'docs_ui', 'text/html', { type: 'string' }) },
    '/docs/openapi.json': {
      get: page('This document, as JSON', 'docs_openapiJson', 'application/json', {
        type: 'object',
        additionalProperties: true,
      }),
    },
    '/docs/openapi.yaml': { get: page('This document, as YAML', 'docs_openapiYaml', 'text/yaml', { type: 'string' }) },
  };
}

/** The auditor console's files (console-files.ts): public, no database; served by Fastify itself. */
function consolePaths(): OpenAPIObject['paths'] {
  const text = (description: string) => ({ description, schema: { type: 'string' } });
  const headers = {
    'Content-Security-Policy': text("default-src 'none'; script-src 'self'; … frame-ancestors 'none'"),
    'X-Content-Type-Options': text('nosniff'),
    'Referrer-Policy': text('no-referrer'),
    'Cache-Control': text(
      'index.html and config.json: no-cache; assets/* (hashed names): immutable for a year; problems: no-store',
    ),
  };
  const required = Object.fromEntries(
    Object.entries(headers).map(([name, header]) => [name, { ...header, required: true }]),
  );
  const notBuilt = {
    ...problemResponse(503, 'CONSOLE_NOT_BUILT: no built console in CONSOLE_DIR (default dist/console)'),
    headers: required,
  };
  const notFound = {
    ...problemResponse(
      404,
      'NOT_FOUND: a path with `..` or `.` segments, dot files, `%` after decoding or back slashes; ' +
        'a missing file under assets/',
    ),
    headers: required,
  };
  const files = (summary: string, operationId: string, description: string, extra: Partial<Operation> = {}) => ({
    get: {
      summary,
      description,
      operationId,
      tags: ['console'],
      security: [],
      ...extra,
      responses: {
        200: {
          description: 'The file (index.html for a client-side route)',
          headers: required,
          content: Object.fromEntries(
            CONSOLE_MEDIA_TYPES.map((type) => [type, { schema: { type: 'string', format: 'binary' } }]),
          ),
        },
        404: notFound,
        503: notBuilt,
      },
    } satisfies Operation,
  });
  return {
    '/console': files('The auditor console (index.html)', 'console_index', 'No key needed: the console asks for one.'),
    '/console/{path}': files(
      'A file of the auditor console, or index.html for a client-side route',
      'console_file',
      'Any path under /console (it may hold `/`): a file of the built console, else index.html. ' +
        'assets/* are served with Cache-Control: public, max-age=31536000, immutable.',
      {
        parameters: [
          {
            name: 'path',
            in: 'path',
            required: true,
            description: 'One or more path segments, e.g. assets/index-3f9a1c.js or conversations/<id>',
            schema: { type: 'string' },
          },
        ],
      },
    ),
    '/console/config.json': {
      get: {
        summary: "The console's configuration: the verifier keys the operator pinned",
        description: 'CONSOLE_VERIFIER_KEYS, checked at start; [] when unset. No key needed.',
        operationId: 'console_config',
        tags: ['console'],
        security: [],
        responses: {
          200: {
            description: 'The verifier keys the console checks checkpoint signatures against',
            headers: required,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['verifierKeys'],
                  properties: {
                    verifierKeys: {
                      type: 'array',
                      items: { type: 'string', example: 'log.example+1a2b3c4d+AQ…' },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
}
