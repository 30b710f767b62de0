import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { adminUrl, createTestDatabase, TestDatabase, withAdmin } from '@app/testing';
import { assessPrivileges, checkRuntimePrivileges, PrivilegeRefusal } from './database-privileges';

/** Roles are cluster-wide: these carry a random suffix and are dropped after the file. */
const suffix = randomBytes(4).toString('hex');
const OWNER = `cs_test_owner_${suffix}`;
const MEMBER = `cs_test_member_${suffix}`;

const as = (url: string, role: string) => {
  const u = new URL(url);
  u.username = role;
  u.password = role;
  return u.toString();
};

async function assessAs(url: string) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await assessPrivileges(c);
  } finally {
    await c.end();
  }
}

describe(assessPrivileges.name, () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    await withAdmin(adminUrl(), async (c) => {
      await c.query(`CREATE ROLE ${OWNER} LOGIN PASSWORD '${OWNER}'`);
      await c.query(`CREATE ROLE ${MEMBER} LOGIN PASSWORD '${MEMBER}' IN ROLE ${OWNER}`);
    });
  });
  afterAll(async () => {
    await db.drop();
    await withAdmin(adminUrl(), async (c) => {
      await c.query(`DROP ROLE IF EXISTS ${MEMBER}`);
      await c.query(`DROP ROLE IF EXISTS ${OWNER}`);
    });
  });

  it('calls the runtime login "least": granted conversations_app, nothing more', async () => {
    expect(await assessAs(db.runtimeUrl)).toMatchObject({
      level: 'least',
      user: 'cs_test_runtime',
      reasons: [],
      memberOfApp: true,
    });
  });

  it('calls a superuser "owner"', async () => {
    expect(await assessAs(db.url)).toMatchObject({ level: 'owner', reasons: ['is a superuser', 'owns es_events'] });
  });

  it('calls the owner of es_events, and a member of the owner\'s role, "owner"', async () => {
    await db.pool.query(`ALTER TABLE es_events OWNER TO ${OWNER}`);
    try {
      expect(await assessAs(as(db.url, OWNER))).toMatchObject({
        level: 'owner',
        owner: OWNER,
        reasons: ['owns es_events'],
      });
      expect(await assessAs(as(db.url, MEMBER))).toMatchObject({
        level: 'owner',
        reasons: [`is a member of "${OWNER}", the owner of es_events`],
      });
    } finally {
      await db.pool.query(`ALTER TABLE es_events OWNER TO CURRENT_USER`);
    }
  });

  describe(checkRuntimePrivileges.name, () => {
    it('warns, naming the risk, and goes on with owner rights', async () => {
      const warnings: string[] = [];
      expect(await checkRuntimePrivileges(db.pool, { strict: false, warn: (m) => warnings.push(m) })).toBe('owner');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/could disable the append-only triggers of es_events and rewrite the record/);
    });

    it('refuses under strict, saying what to create and grant', async () => {
      const refusal = checkRuntimePrivileges(db.pool, { strict: true, warn: () => undefined });
      await expect(refusal).rejects.toBeInstanceOf(PrivilegeRefusal);
      await expect(refusal).rejects.toThrow(
        /CREATE ROLE conversations_service LOGIN .*GRANT conversations_app TO conversations_service/,
      );
    });

    it('starts quietly under strict as the runtime login', async () => {
      const c = new Client({ connectionString: db.runtimeUrl });
      await c.connect();
      const warnings: string[] = [];
      try {
        expect(await checkRuntimePrivileges(c, { strict: true, warn: (m) => warnings.push(m) })).toBe('least');
      } finally {
        await c.end();
      }
      expect(warnings).toEqual([]);
    });
  });
});
