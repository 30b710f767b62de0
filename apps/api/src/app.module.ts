import { DynamicModule, Logger, Module, RequestMethod } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { IncomingMessage } from 'node:http';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresEventStore } from '@app/event-store';
import { runtimeConnection, type AppConfig } from '@app/platform';
import { ApiKeyGuard } from './auth/api-key.guard';
import { ApiKeyResolver } from './auth/api-key-resolver';
import { ApiKeyEntity } from '@app/access';
import { ApiError, FieldError } from './common/api-error';
import { FastBodyValidationPipe } from './common/fast-body.pipe';
import { ProblemFilter } from './common/problem.filter';
import { bufferedStdout } from './common/log-destination';
import { principalLogProps, redactCredentials } from './common/request-log';
import { AuditCapacity } from './limits/audit-capacity';
import { RateLimitGuard } from './limits/rate-limit.guard';
import { RateLimits } from './limits/rate-limits';
import { ChangeNotifier } from './database/change-notifier';
import { DatabasePrivileges } from './database/database-privileges.service';
import { StoreCloser } from './database/store-closer';
import {
  APP_CONFIG,
  AUDIT_POOL,
  createEventStore,
  dataSourceModules,
  DATABASE_URL,
  PG_POOL,
  poolProviders,
} from './database/database.providers';
import { ReadDatabase } from './database/read-database';
import { EventsController } from './events/events.controller';
import { SseConnections } from './events/sse-connections';
import { HealthController } from './health/health.controller';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsService } from './metrics/metrics.service';
import { ConversationsModule } from './conversations/conversations.module';
import { AuditModule } from './audit/audit.module';
import { SubjectsModule } from './subjects/subjects.module';
import { AppendMessageDto, appendMessageFast } from './conversations/dto/command-bodies.dto';
import { TransparencyLogModule } from './transparency-log/transparency-log.module';
import { KnownReasonCodesPipe } from './conversations/known-reason-codes.pipe';
import { loadPolicies, POLICIES, PolicyBook } from './conversations/policies';
import { ProjectionsService } from './projections/projections.service';
import { ProjectionWaiter } from './projections/projection-waiter';
import { WaitForInterceptor } from './projections/wait-for.interceptor';
import { AccessLogController } from './access-log/access-log.controller';
import { MeController } from './me/me.controller';
import { AccessRecorder } from './access-log/access-recorder';
import { AccessInterceptor } from './access-log/records-access';
import { ContentProtection, masterKeyRingProvider } from './privacy/content-protection';

function validationErrors(errors: import('class-validator').ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = e.constraints ? [{ field, messages: Object.values(e.constraints) }] : [];
    return [...own, ...validationErrors(e.children ?? [], field)];
  });
}

const keysLogger = new Logger('ApiKeys');

export interface AppOptions {
  config: AppConfig;
  databaseUrl: string;
  /** The policies in force, as reconciled with the stored versions (createApp does it); else the configured ones. */
  policies?: PolicyBook;
  /** Where JSON logs go (standard output by default; tests capture them). */
  logStream?: DestinationStream;
  /** Built only to write its OpenAPI document: its DataSources never connect. */
  documentOnly?: boolean;
}

@Module({})
export class AppModule {
  static register(options: AppOptions): DynamicModule {
    const { config, databaseUrl, policies = loadPolicies(config.policyJson), logStream, documentOnly } = options;
    const pinoOptions = {
      level: config.logLevel,
      // Every request line names the caller's key id, role and tenant; the key itself is redacted.
      customProps: principalLogProps,
      serializers: { req: redactCredentials },
      autoLogging: { ignore: (req: IncomingMessage) => req.url === '/health' },
    };

    return {
      module: AppModule,
      global: true,
      imports: [
        CqrsModule.forRoot(),
        ...dataSourceModules(databaseUrl, config, !documentOnly),
        TerminusModule.forRoot({ errorLogStyle: 'pretty' }),
        // nestjs-pino's default route pattern matches no request on Fastify under Nest 12: without
        // forRoutes no request was ever logged.
        LoggerModule.forRoot({
          pinoHttp: [pinoOptions, logStream ?? bufferedStdout()],
          forRoutes: [{ path: '*path', method: RequestMethod.ALL }],
        }),
        ConversationsModule,
        AuditModule,
        TransparencyLogModule,
        SubjectsModule,
      ],
      controllers: [HealthController, MetricsController, EventsController, AccessLogController, MeController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: DATABASE_URL, useValue: databaseUrl },
        ...poolProviders(config),
        ReadDatabase,
        masterKeyRingProvider(documentOnly === true),
        ContentProtection,
        { provide: POLICIES, useValue: policies },
        MetricsService,
        {
          provide: PostgresEventStore,
          inject: [PG_POOL, MetricsService],
          useFactory: (pool: Pool, metrics: MetricsService) => createEventStore(pool, metrics),
        },
        {
          provide: ApiKeyResolver,
          inject: [DataSource],
          useFactory: (db: DataSource) =>
            ApiKeyResolver.listening(
              db.getRepository(ApiKeyEntity),
              runtimeConnection(databaseUrl, config),
              { cacheSize: config.apiKeyCacheSize },
              (m) => keysLogger.warn(m),
            ),
        },
        ChangeNotifier,
        DatabasePrivileges,
        StoreCloser,
        ProjectionsService,
        ProjectionWaiter,
        { provide: APP_INTERCEPTOR, useClass: WaitForInterceptor },
        // After ?waitFor=: a read is recorded when its answer is ready (routes marked RecordsAccess).
        AccessRecorder,
        { provide: APP_INTERCEPTOR, useClass: AccessInterceptor },
        RateLimits,
        AuditCapacity,
        SseConnections,
        // In this order: the key is known before its rate is checked.
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        {
          provide: APP_PIPE,
          useValue: new FastBodyValidationPipe(
            {
              whitelist: true,
              forbidNonWhitelisted: true,
              transform: true,
              exceptionFactory: (errors) => {
                const fields = validationErrors(errors);
                return ApiError.validation(fields.map((f) => f.messages.join('; ')).join('; '), fields);
              },
            },
            // The message append's body, most of the traffic, without class-validator when plainly valid.
            new Map([[AppendMessageDto, appendMessageFast]]),
          ),
        },
        // After the form is valid: is the reason code one of some known policy version?
        { provide: APP_PIPE, useClass: KnownReasonCodesPipe },
      ],
      exports: [
        PostgresEventStore,
        PG_POOL,
        // With a replica the heavy audit reads have no pool on the primary (ReadDatabase).
        ...(config.readDatabaseUrl ? [] : [AUDIT_POOL]),
        ReadDatabase,
        ContentProtection,
        AuditCapacity,
        SseConnections,
        POLICIES,
        MetricsService,
        ChangeNotifier,
        APP_CONFIG,
        ApiKeyResolver,
        AccessRecorder,
      ],
    };
  }
}
