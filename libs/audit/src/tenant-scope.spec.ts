import { resolveTenantScope } from './tenant-scope';

describe(resolveTenantScope.name, () => {
  it('gives a key of all tenants every tenant, or the one it asks for', () => {
    expect(resolveTenantScope('*', undefined)).toEqual({});
    expect(resolveTenantScope('*', 'globex')).toEqual({ tenantId: 'globex' });
  });

  it('keeps a tenant key to its tenant, asked or not', () => {
    expect(resolveTenantScope('acme', undefined)).toEqual({ tenantId: 'acme' });
    expect(resolveTenantScope('acme', 'acme')).toEqual({ tenantId: 'acme' });
  });

  it('gives a tenant key nothing when it asks for another tenant', () => {
    expect(resolveTenantScope('acme', 'globex')).toBeNull();
    expect(resolveTenantScope('acme', '*')).toBeNull();
  });
});
