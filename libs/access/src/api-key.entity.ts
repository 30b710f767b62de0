import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * api_keys: one row per key, its SHA-256 only. The row guard (api_keys_guard) lets an update
 * change last_used_at, and revoked_at/revoked_by once; everything else is fixed at creation,
 * so this entity is inserted and then only updated column by column, never saved whole.
 */
@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryColumn('uuid')
  id: string;

  /** Never read back by default: lookups only compare it. */
  @Column('char', { name: 'key_hash', length: 64, unique: true, select: false })
  keyHash: string;

  @Column('text')
  role: string;

  /** '*' for all tenants (admin and auditor keys only). */
  @Column('text', { name: 'tenant_id' })
  tenantId: string;

  @Column('text', { nullable: true })
  label: string | null;

  /** The person the key was issued to. */
  @Column('text', { nullable: true })
  holder: string | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column('text', { name: 'created_by', nullable: true })
  createdBy: string | null;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  expiresAt: Date | null;

  /** Coarse: written at most once a minute per key and process. */
  @Column('timestamptz', { name: 'last_used_at', nullable: true })
  lastUsedAt: Date | null;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt: Date | null;

  @Column('text', { name: 'revoked_by', nullable: true })
  revokedBy: string | null;
}
