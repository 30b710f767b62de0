import { Module } from '@nestjs/common';
import { AuditConversationsController } from './audit-conversations.controller';
import { AuditEndsController } from './audit-ends.controller';
import { AuditExportController } from './audit-export.controller';
import { AuditStatsController } from './audit-stats.controller';
import { AuditCapacityGuard } from '../limits/audit-capacity';
import { ConversationsModule } from '../conversations/conversations.module';
import { ReviewEndDecisionHandler } from './commands/review-end-decision.handler';
import { CheckComplianceHandler } from './queries/check-compliance.query';
import { GetEndStatsHandler } from './queries/end-stats.query';
import { ExportEndsHandler } from './queries/export-ends.query';
import { GetTimelineHandler } from './queries/get-timeline.query';
import { ListBlockedEndsHandler } from './queries/list-blocked-ends.query';
import { ListEndsHandler } from './queries/list-ends.query';
import { GetReviewStatsHandler } from './queries/review-stats.query';
import { SampleEndsHandler } from './queries/sample-ends.query';

/** The auditor query API (/v1/audit/*): auditor and admin keys, tenant-scoped. */
@Module({
  imports: [ConversationsModule],
  controllers: [AuditEndsController, AuditStatsController, AuditConversationsController, AuditExportController],
  providers: [
    AuditCapacityGuard,
    ListEndsHandler,
    ListBlockedEndsHandler,
    GetEndStatsHandler,
    GetReviewStatsHandler,
    CheckComplianceHandler,
    SampleEndsHandler,
    GetTimelineHandler,
    ExportEndsHandler,
    ReviewEndDecisionHandler,
  ],
})
export class AuditModule {}
