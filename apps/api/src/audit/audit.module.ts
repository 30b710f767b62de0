import { Module } from '@nestjs/common';
import { AuditConversationsController } from './audit-conversations.controller';
import { AuditEndsController } from './audit-ends.controller';
import { AuditExportController } from './audit-export.controller';
import { AuditStatsController } from './audit-stats.controller';
import { AuditCapacityGuard } from '../limits/audit-capacity';
import { BulkReadPacer } from '../limits/bulk-read-pacer';
import { ConversationsModule } from '../conversations/conversations.module';
import { ReviewEndDecisionHandler } from './commands/review-end-decision.handler';
import { GetTimelineHandler } from './queries/get-timeline.query';

/** The auditor query API (/v1/audit/*): auditor and admin keys, tenant-scoped. */
@Module({
  imports: [ConversationsModule],
  controllers: [AuditEndsController, AuditStatsController, AuditConversationsController, AuditExportController],
  providers: [AuditCapacityGuard, BulkReadPacer, GetTimelineHandler, ReviewEndDecisionHandler],
})
export class AuditModule {}
