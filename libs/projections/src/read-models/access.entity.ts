import { Column, Entity, PrimaryColumn } from 'typeorm';

/** rm_access: who read what, one row per access entry (access.projection.ts). */
@Entity('rm_access')
export class AccessEntity {
  @PrimaryColumn('uuid', { name: 'event_id' })
  eventId: string;

  /** When the content was read (the entry's occurredAt). */
  @Column('timestamptz', { name: 'accessed_at' })
  accessedAt: Date;

  @Column('uuid', { name: 'key_id' })
  keyId: string;

  @Column('text')
  role: string;

  @Column('text', { name: 'tenant_id' })
  tenantId: string;

  @Column('text')
  route: string;

  @Column('uuid', { name: 'conversation_ids', array: true })
  conversationIds: string[];

  @Column('jsonb')
  filter: Record<string, string>;

  @Column('text', { name: 'request_id' })
  requestId: string;

  /** The entry's commit-order position. */
  @Column('text')
  position: string;
}
