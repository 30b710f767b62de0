import { Module } from '@nestjs/common';
import { SubjectsController } from './subjects.controller';

/** Data subjects: erasure, legal holds, subject access export (issue 14). */
@Module({
  controllers: [SubjectsController],
})
export class SubjectsModule {}
