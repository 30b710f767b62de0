import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/** The OpenAPI document of the service, from the controllers' and DTOs' decorators. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  return SwaggerModule.createDocument(
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
}
