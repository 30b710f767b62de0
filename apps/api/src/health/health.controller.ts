import { Controller, Get, Inject, Logger } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Pool } from 'pg';
import { Public } from '../auth/auth.decorators';
import { ApiProblems } from '../common/api-problems.decorator';
import { DatabasePrivileges } from '../database/database-privileges.service';
import { ApiWaitFor } from '../projections/wait-for.interceptor';
import { PG_POOL } from '../database/database.providers';
import { TransparencyLogService } from '../transparency-log/transparency-log.service';
import { ReadDatabase } from '../database/read-database';

const CHECK = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['up', 'down'] },
    privileges: {
      type: 'string',
      enum: ['least', 'owner'],
      description: 'owner: the service could switch the append-only guard off',
    },
  },
};
const TLOG = {
  type: 'object',
  required: ['status', 'signer'],
  description: 'down (status degraded): the signer refused a tree that does not extend the last signed checkpoint',
  properties: {
    status: { type: 'string', enum: ['up', 'down'] },
    signer: { type: 'string', enum: ['ok', 'refused', 'none'], description: 'none: no signing key in this process' },
    reason: { type: 'string' },
  },
};
const REPLICA = {
  type: 'object',
  required: ['status'],
  description:
    'Only with READ_DATABASE_URL: the replica the audit reads go to. down (status degraded): audit reads answer 503 ' +
    'DATABASE_UNAVAILABLE; commands and thread status are unaffected',
  properties: {
    status: { type: 'string', enum: ['up', 'down'] },
    standby: { type: 'boolean', description: 'false: READ_DATABASE_URL names a server that is not a standby' },
    lagBytes: { type: 'integer', description: "WAL of the primary's not yet replayed by the replica" },
    lagSeconds: {
      type: 'number',
      description: "Seconds of the log the replica lacks: the primary's newest event's time less the replica's",
    },
  },
};
const CHECKS = { type: 'object', nullable: true, additionalProperties: CHECK };
const HEALTH_OK = {
  type: 'object',
  required: ['status', 'database', 'transparencyLog'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
    database: CHECK,
    transparencyLog: TLOG,
    replica: REPLICA,
    info: CHECKS,
    error: CHECKS,
    details: { type: 'object', additionalProperties: CHECK },
  },
  example: {
    status: 'ok',
    database: { status: 'up', privileges: 'least' },
    transparencyLog: { status: 'up', signer: 'ok' },
    info: { database: { status: 'up', privileges: 'least' } },
    error: {},
    details: { database: { status: 'up', privileges: 'least' } },
  },
};

@ApiTags('operations')
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly privileges: DatabasePrivileges,
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly tlog: TransparencyLogService,
    private readonly reads: ReadDatabase,
  ) {}

  @Get()
  @Public()
  @ApiOkResponse({ description: 'Up: the database answers', schema: HEALTH_OK })
  @ApiWaitFor()
  @ApiProblems(
    [400, 'VALIDATION_FAILED: a malformed `?waitFor=`'],
    [
      503,
      'UNAVAILABLE: the database does not answer ' +
        "(`checks` holds the report, without the server's words); WAIT_FOR_TIMEOUT",
    ],
  )
  // Terminus documents its own 503 as plain JSON; the problem filter answers problem+json.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    summary: "Liveness, database reachability and the runtime connection's privileges (no API key needed)",
    security: [],
  })
  async check() {
    const result = await this.health.check([
      async () => {
        const database = this.indicator.check('database');
        try {
          await this.pool.query('SELECT 1');
          return database.up({ privileges: this.privileges.level });
        } catch (err) {
          // The server's words (user names, hosts, "password authentication failed") go to the
          // log only: /health answers anyone.
          this.logger.error(`database check failed: ${(err as Error).message}`);
          return database.down();
        }
      },
    ]);
    // CONTRACT.md: "database": {"status", "privileges"} at the top, beside Terminus's report.
    // A refused signature degrades the service without stopping it: the record still works.
    const transparencyLog = this.tlog.health;
    // Without READ_DATABASE_URL: no replica entry. One that is down degrades the audit reads only.
    const replica = await this.reads.replicaHealth();
    const degraded = transparencyLog.status !== 'up' || replica?.status === 'down';
    return {
      status: degraded ? 'degraded' : result.status,
      database: result.details.database,
      transparencyLog,
      ...(replica ? { replica } : {}),
      info: result.info,
      error: result.error,
      details: result.details,
    };
  }
}
