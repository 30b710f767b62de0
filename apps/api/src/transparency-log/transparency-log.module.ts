import { Global, Module } from '@nestjs/common';
import { TransparencyLogController } from './transparency-log.controller';
import { TransparencyLogService } from './transparency-log.service';

/** The transparency log over HTTP (/v1/audit/log/*) and for other modules (TransparencyLogService). */
@Global()
@Module({
  controllers: [TransparencyLogController],
  providers: [TransparencyLogService],
  exports: [TransparencyLogService],
})
export class TransparencyLogModule {}
