import { Controller, Get, Inject, Logger } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Pool } from 'pg';
import { Public } from '../auth/auth.decorators';
import { ApiProblems } from '../common/api-problems.decorator';
import { DatabasePrivileges } from '../database/database-privileges.service';
import { PG_POOL } from '../database/database.providers';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly privileges: DatabasePrivileges,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  @Get()
  @Public()
  // Above @HealthCheck(): its own 503 (plain JSON) is not what the problem filter answers.
  @ApiProblems(
    [400, 'VALIDATION_FAILED: a malformed `?waitFor=`'],
    [503, 'UNAVAILABLE: the database does not answer (`checks` holds the report); WAIT_FOR_TIMEOUT'],
  )
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness, database reachability and the runtime connection\'s privileges (no API key needed)', security: [] })
  check() {
    return this.health.check([
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
  }
}
