import { Module } from '@nestjs/common';
import { subjectContentProvider } from './subject-content';
import { SubjectsController } from './subjects.controller';

/** Data subjects: erasure, legal holds, subject access export (issue 14). */
@Module({
  controllers: [SubjectsController],
  providers: [subjectContentProvider],
})
export class SubjectsModule {}
