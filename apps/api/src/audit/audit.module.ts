import { Module } from '@nestjs/common';

/** The auditor query API (/v1/audit/*). */
@Module({
  controllers: [],
  providers: [],
})
export class AuditModule {}
