import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read models keep no plaintext they do not need (issue 14): rm_messages.content was a copy of
 * every message's text that nothing read (GET …/messages folds the log, opening its sealed
 * content), and rm_reviews.note a copy of the reviewers' notes that nothing read either (the
 * review statistics count outcomes; the notes are read from the events). A copy here would
 * survive erasure, and a rebuild would bring erased content back from it. Down restores the
 * columns empty: the text is in the log, sealed.
 */
export class ReadModelsWithoutContent1764402100000 implements MigrationInterface {
  name = 'ReadModelsWithoutContent1764402100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rm_messages DROP COLUMN content`);
    await q.query(`ALTER TABLE rm_reviews DROP COLUMN note`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rm_reviews ADD COLUMN note text`);
    await q.query(`ALTER TABLE rm_messages ADD COLUMN content text NOT NULL DEFAULT ''`);
  }
}
