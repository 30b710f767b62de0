import type { DataSource } from 'typeorm';
import { listApiKeys } from '@app/access';
import { refuseUnknownFlags } from '../args';
import { printTable } from './table';

const when = (d: Date | null) => (d ? d.toISOString() : '-');

/** `keys:list`: every key as a table; never the key nor its hash. */
export async function keysList(db: DataSource, flags: Record<string, string | true>): Promise<void> {
  refuseUnknownFlags(flags, []);
  const keys = await listApiKeys(db);
  const header = ['id', 'label', 'holder', 'role', 'tenant', 'created', 'last used', 'expires', 'revoked'];
  const rows = keys.map((k) => [
    k.id,
    k.label ?? '-',
    k.holder ?? '-',
    k.role,
    k.tenantId,
    when(k.createdAt),
    when(k.lastUsedAt),
    when(k.expiresAt),
    when(k.revokedAt),
  ]);
  printTable(header, rows, '(no keys)');
}
