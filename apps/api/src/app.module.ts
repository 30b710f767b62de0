import { DynamicModule, Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import type { AppConfig } from '@app/platform';
import { ApiKeyGuard } from './auth/api-key.guard';
import { ApiKeyResolver } from './auth/api-keys';
import { ApiError, FieldError } from './common/api-error';
import { ProblemFilter } from './common/problem.filter';
import { AuditCapacity } from './limits/audit-capacity';
import { RateLimitGuard } from './limits/rate-limit.guard';
import { RateLimits } from './limits/rate-limits';
import { ChangeNotifier } from './database/change-notifier';
import { PoolCloser } from './database/pool-closer';
import { APP_CONFIG, AUDIT_POOL, createEventStore, createPool, DATABASE_URL, PG_POOL } from './database/database.providers';
import { EventsController } from './events/events.controller';
import { SseConnections } from './events/sse-connections';
import { HealthController } from './health/health.controller';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsService } from './metrics/metrics.service';
import { ConversationsModule } from './conversations/conversations.module';
import { AuditModule } from './audit/audit.module';
import { loadPolicies, POLICIES } from './conversations/policies';
import { ProjectionsService } from './projections/projections.service';
import { ProjectionWaiter } from './projections/projection-waiter';
import { WaitForInterceptor } from './projections/wait-for.interceptor';

function validationErrors(errors: import('class-validator').ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = e.constraints ? [{ field, messages: Object.values(e.constraints) }] : [];
    return [...own, ...validationErrors(e.children ?? [], field)];
  });
}

export interface AppOptions {
  config: AppConfig;
  databaseUrl: string;
}

@Module({})
export class AppModule {
  static register({ config, databaseUrl }: AppOptions): DynamicModule {
    const policies = loadPolicies(config.policyJson);
    return {
      module: AppModule,
      global: true,
      imports: [
        CqrsModule.forRoot(),
        TerminusModule.forRoot({ errorLogStyle: 'pretty' }),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            genReqId: (req, res) => {
              const given = req.headers['x-request-id'];
              const id = typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
              res.setHeader('x-request-id', id);
              return id;
            },
            redact: ['req.headers.authorization', 'req.headers.cookie'],
            autoLogging: { ignore: (req) => req.url === '/health' },
          },
        }),
        ConversationsModule,
        AuditModule,
      ],
      controllers: [HealthController, MetricsController, EventsController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: DATABASE_URL, useValue: databaseUrl },
        { provide: PG_POOL, useFactory: () => createPool(databaseUrl, config.dbPoolSize, config.limits.dbConnectTimeoutMs) },
        {
          provide: AUDIT_POOL,
          useFactory: () => createPool(databaseUrl, config.limits.auditPoolSize, config.limits.dbConnectTimeoutMs, 'conversation-service (audit)'),
        },
        { provide: POLICIES, useValue: policies },
        MetricsService,
        {
          provide: PostgresEventStore,
          inject: [PG_POOL, MetricsService],
          useFactory: (pool: Pool, metrics: MetricsService) => createEventStore(pool, metrics),
        },
        {
          provide: ApiKeyResolver,
          inject: [PG_POOL],
          useFactory: (pool: Pool) => new ApiKeyResolver(pool),
        },
        ChangeNotifier,
        PoolCloser,
        ProjectionsService,
        ProjectionWaiter,
        { provide: APP_INTERCEPTOR, useClass: WaitForInterceptor },
        RateLimits,
        AuditCapacity,
        SseConnections,
        // In this order: the key is known before its rate is checked.
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            whitelist: true,
            forbidNonWhitelisted: true,
            transform: true,
            exceptionFactory: (errors) => {
              const fields = validationErrors(errors);
              return ApiError.validation(fields.map((f) => f.messages.join('; ')).join('; '), fields);
            },
          }),
        },
      ],
      exports: [PostgresEventStore, PG_POOL, AUDIT_POOL, AuditCapacity, SseConnections, POLICIES, MetricsService, ChangeNotifier, APP_CONFIG],
    };
  }
}
