import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Pool } from 'pg';
import { Public } from '../auth/auth.decorators';
import { ApiProblems } from '../common/api-problems.decorator';
import { PG_POOL } from '../database/database.providers';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
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
  @ApiOperation({ summary: 'Liveness and database reachability (no API key needed)', security: [] })
  check() {
    return this.health.check([
      async () => {
        const database = this.indicator.check('database');
        try {
          await this.pool.query('SELECT 1');
          return database.up();
        } catch (err) {
          return database.down({ message: (err as Error).message });
        }
      },
    ]);
  }
}
