import type { Browser, Page } from 'playwright-core';
import { describeInBrowser } from './support/chromium';
import { eventually, launch, openTab, settled, signIn, type Tab } from './support/browser';
import { seedWorld, type World } from './support/seed';
import { type ConsoleService, startConsoleService, wrongVerifierKey } from './support/service';
import { choose, goto, navigate, rowIds, searchOf, textOf, VIEWS } from './support/views';

jest.setTimeout(120_000);

const GUARDS = [
  'SAFETY_RISK_OPEN',
  'LINEAGE_ALREADY_ENDED',
  'REASON_NOT_ALLOWED',
  'MODEL_NOT_END_CAPABLE',
  'INSUFFICIENT_REDIRECTION',
  'NO_USER_REQUEST',
  'NO_PRIOR_WARNING',
];

const SELF_REVIEW = 'You recorded this end; another reviewer must review it.';

const message = (page: Page, id: string) =>
  page.locator(`[data-testid="message-tree"] [data-testid="message"][data-message-id="${id}"]`);

/** `data-held` of each guard shown on the page. */
async function guards(page: Page): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const g of await page.locator('[data-testid="guard"]').all()) {
    out[(await g.getAttribute('data-guard'))!] = (await g.getAttribute('data-held'))!;
  }
  return out;
}

/** The proof badge once it settled on "verified" or "not verified: …". */
async function proofStatus(page: Page): Promise<string> {
  const badge = page.locator('[data-testid="proof-status"]');
  return eventually(async () => {
    const text = await textOf(badge);
    expect(text).toMatch(/^(verified|not verified)/i);
    return text;
  }, 20_000);
}

/** console-shared.md "Conversation": tree, end point, guards, chain, the proof checked in the browser, reviews. */
describeInBrowser('Console: a conversation', () => {
  let s: ConsoleService;
  let world: World;
  let browser: Browser;
  let t: Tab;

  const open = async (tab: Tab, conversationId: string, baseUrl = s.baseUrl) => {
    await goto(tab.page, baseUrl, `/console/conversations/${conversationId}`);
    await tab.page.locator('[data-testid="message-tree"]').waitFor();
  };

  beforeAll(async () => {
    s = await startConsoleService();
    world = await seedWorld(s);
    // Someone else read the branched conversation: the access list has an entry to show.
    const read = await s.client(s.keys.auditor2).GET('/v1/audit/conversations/{id}/timeline', {
      params: { path: { id: world.branched.conversationId } },
    });
    expect(read.response.status).toBe(200);
    await s.signedCheckpoint();
    browser = await launch();
    t = await openTab(browser);
    await signIn(t, s.baseUrl, s.keys.auditor);
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  describe('the branched conversation', () => {
    beforeAll(() => open(t, world.branched.conversationId));

    it('draws both branches, marks the active leaf and the branch that is no longer active', async () => {
      const { messages: m, branch } = world.branched;
      const all = [m.u1, m.a1, m.u2, m.a2, m.u3, branch.u2b, branch.a2b];
      expect((await rowIds(t.page, 'message', 'data-message-id')).sort()).toEqual([...all].sort());
      const leaf = t.page.locator('[data-testid="message"][data-active-leaf="true"]');
      expect(await leaf.count()).toBe(1);
      expect(await leaf.getAttribute('data-message-id')).toBe(branch.a2b);
      for (const id of [m.u2, m.a2, m.u3])
        expect(await message(t.page, id).getAttribute('data-branch')).toBe('inactive');
      for (const id of [m.u1, m.a1, branch.u2b, branch.a2b]) {
        expect(await message(t.page, id).getAttribute('data-branch')).not.toBe('inactive');
      }
      expect(await textOf(message(t.page, branch.a2b))).toContain('Grey waves fold and break');
    });

    it('places the end point on the message the end concerns', async () => {
      const points = t.page.locator('[data-testid="end-point"]');
      expect(await points.count()).toBe(1);
      const onU3 = message(t.page, world.branched.messages.u3).locator('[data-testid="end-point"]');
      const pointsAtU3 = t.page.locator(`[data-testid="end-point"][data-message-id="${world.branched.messages.u3}"]`);
      expect((await onU3.count()) + (await pointsAtU3.count())).toBeGreaterThan(0);
    });

    it("shows the end's guards, all held, each with its policy version's rule text", async () => {
      expect(await guards(t.page)).toEqual(Object.fromEntries(GUARDS.map((g) => [g, 'true'])));
      const redirection = t.page.locator('[data-testid="guard"][data-guard="INSUFFICIENT_REDIRECTION"]');
      expect(await textOf(redirection)).toMatch(/at least 2 .*redirections?/i);
      for (const g of await t.page.locator('[data-testid="guard"]').all()) {
        expect((await textOf(g)).length).toBeGreaterThan(20);
      }
    });

    it('says the chain is valid', async () => {
      const chain = await textOf(t.page.locator('[data-testid="chain-status"]'));
      expect(chain).toMatch(/valid/i);
      expect(chain).not.toMatch(/broken|invalid/i);
    });

    it('verifies the inclusion proof and the checkpoint signature in the browser against the pinned key', async () => {
      expect(await proofStatus(t.page)).toMatch(/^verified/i);
    });

    it('lists who looked at it', async () => {
      await eventually(async () => {
        await t.page.reload();
        await settled(t.page);
        const entries = t.page.locator('[data-testid="access-entry"]');
        expect(await entries.count()).toBeGreaterThan(0);
        const text = (await entries.allInnerTexts()).join('\n');
        // The reader's key id (its first 8 characters; the whole id in the title).
        expect(text).toContain(s.keys.auditor2.id.slice(0, 8));
        expect(await entries.locator(`[title="${s.keys.auditor2.id}"]`).count()).toBeGreaterThan(0);
      }, 15_000);
    });

    it('shows the review recorded before, with who and when', async () => {
      const reviews = t.page.locator('[data-testid="review"]');
      expect(await reviews.count()).toBe(1);
      const text = await textOf(reviews.first());
      expect(text).toMatch(/upheld/i);
      expect(text.includes(s.keys.auditor2.id) || text.includes('Bo Reviewer')).toBe(true);
    });
  });

  it('shows the guards a blocked attempt failed', async () => {
    const atRisk = world.blocked.find((b) => b.failedGuards.includes('SAFETY_RISK_OPEN'))!;
    await open(t, atRisk.conversationId);
    const shown = await guards(t.page);
    expect(Object.keys(shown).sort()).toEqual([...GUARDS].sort());
    expect(
      Object.entries(shown)
        .filter(([, held]) => held === 'false')
        .map(([g]) => g)
        .sort(),
    ).toEqual([...atRisk.failedGuards].sort());
  });

  it('reviews an end: the review appears with who and when, and the ends list (cached before) shows it', async () => {
    const end = world.unreviewed;
    // The ends list first: its answer (the end pending) is cached when the conversation is opened from it.
    await goto(t.page, s.baseUrl, VIEWS.ends, { from: world.from, to: world.to });
    const row = t.page.locator(`[data-testid="end-row"][data-conversation-id="${end.conversationId}"]`);
    await row.waitFor();
    expect(await textOf(row)).toMatch(/pending/i);
    await row.click();
    await t.page.waitForURL((url) => url.pathname === `/console/conversations/${end.conversationId}`);
    await t.page.locator('[data-testid="message-tree"]').waitFor();

    await choose(t.page, 'Outcome', 'upheld');
    await t.page.getByLabel('Note', { exact: true }).fill('Two redirections, then more of the same: upheld.');
    await t.page.getByRole('button', { name: 'Submit review' }).click();
    const review = t.page.locator('[data-testid="review"]');
    await review.first().waitFor();
    const text = await textOf(review.first());
    expect(text).toMatch(/upheld/i);
    expect(text.includes(s.keys.auditor.id) || text.includes('Ada Auditor')).toBe(true);
    expect(await t.page.getByRole('alert').count()).toBe(0);

    // Back through the nav link (no reload): the review invalidated the cached list, which reads again.
    const loads = t.urls.length;
    await navigate(t.page, 'ends');
    expect(t.urls.slice(loads).filter((u) => new URL(u).pathname === '/console/ends')).toHaveLength(1);
    expect(searchOf(t.page)).toMatchObject({ from: world.from, to: world.to });
    await eventually(async () => expect(await textOf(row)).toMatch(/upheld/i), 5_000);
    expect(await textOf(row)).not.toMatch(/pending/i);
  });

  it('explains why a reviewer may not review an end recorded under their name (409 SELF_REVIEW)', async () => {
    // Recorded with the operator key of the same holder ("Ada Auditor"): the service refuses it.
    await open(t, world.operatorEnd.conversationId);
    await choose(t.page, 'Outcome', 'upheld');
    await t.page.getByRole('button', { name: 'Submit review' }).click();
    const alert = t.page.getByRole('alert').filter({ hasText: SELF_REVIEW });
    await alert.waitFor();
    expect(await t.page.locator('[data-testid="review"]').count()).toBe(0);
  });

  it('does not offer the review to the key that recorded the end, and says why', async () => {
    const admin = await openTab(browser);
    try {
      await signIn(admin, s.baseUrl, s.keys.admin);
      await open(admin, world.adminEnd.conversationId);
      await admin.page.getByText(SELF_REVIEW).first().waitFor();
      expect(await admin.page.getByRole('button', { name: 'Submit review' }).isDisabled()).toBe(true);
    } finally {
      await admin.close();
    }
  });

  it('answers an unknown conversation with an error state', async () => {
    await t.page.goto(`${s.baseUrl}/console/conversations/00000000-0000-4000-8000-00000000dead`);
    await t.page.getByRole('alert').waitFor();
  });

  it('recomputes the chain itself: a message changed on the way is "not verified", naming its version', async () => {
    const tab = await openTab(browser);
    let changed: number | undefined;
    try {
      // The server's answer altered in transit: one message's content, hash and chain report left as they were.
      await tab.page.route('**/v1/audit/conversations/*/timeline', async (route) => {
        const response = await route.fetch();
        const body = (await response.json()) as {
          events: { type: string; version: number; data: { content?: string }; storedData?: { content?: unknown } }[];
        };
        const target = body.events.filter((e) => e.type === 'MessageAppended')[1]!;
        // What the chain covers is the stored form (sealed content: storedData), so that is what is changed.
        if (target.storedData) target.storedData = { ...target.storedData, content: 'edited' };
        else target.data.content = `${target.data.content} (edited)`;
        changed = target.version;
        await route.fulfill({ response, json: body });
      });
      await signIn(tab, s.baseUrl, s.keys.auditor);
      await open(tab, world.branched.conversationId);
      const status = await proofStatus(tab.page);
      expect(changed).toBeGreaterThan(1);
      expect(status).toMatch(new RegExp(`^not verified: .*version ${changed}\\b`, 'i'));
      // The server's own word on the chain is still "valid": the browser did not take it.
      expect(await textOf(tab.page.locator('[data-testid="chain-status"]'))).toMatch(/valid/i);
    } finally {
      await tab.close();
    }
  });

  it('says what "verified" covers: every event, its chain and the inclusion in the log', async () => {
    await open(t, world.branched.conversationId);
    const status = await proofStatus(t.page);
    expect(status).toMatch(/^verified: \d+ events: content, chain and inclusion in the signed log of size \d+/i);
    const events = Number(/^verified: (\d+) events/i.exec(status)![1]);
    const timeline = await s.client(s.keys.auditor).GET('/v1/audit/conversations/{id}/timeline', {
      params: { path: { id: world.branched.conversationId } },
    });
    expect(events).toBe(timeline.data!.events.length);
  });

  it("prefers the auditor's pasted key to the operator's pin; forgetting it verifies with the pin", async () => {
    const tab = await openTab(browser);
    try {
      await signIn(tab, s.baseUrl, s.keys.auditor);
      await open(tab, world.branched.conversationId);
      expect(await proofStatus(tab.page)).toMatch(/^verified/i);
      const used = tab.page.locator('[data-testid="verifier-key-used"]');
      expect(await used.getAttribute('data-source')).toBe('operator');
      const operatorKey = (await textOf(used.locator('code'))).trim();

      // The operator pins a key (A, the signer's); the form to paste one's own is still offered.
      const wrong = wrongVerifierKey();
      await tab.page.getByLabel('Verifier key', { exact: true }).fill(wrong);
      await tab.page.getByRole('button', { name: 'Pin this key' }).click();
      await eventually(async () => {
        expect(await textOf(tab.page.locator('[data-testid="proof-status"]'))).toMatch(/^not verified: \S/i);
      }, 20_000);
      expect(await used.getAttribute('data-source')).toBe('pasted');
      expect((await textOf(used.locator('code'))).trim()).toBe(wrong);
      expect(await tab.page.getByRole('button', { name: 'Replace my key' }).count()).toBe(1);

      await tab.page.getByRole('button', { name: 'Forget this key' }).click();
      await eventually(async () => {
        expect(await textOf(tab.page.locator('[data-testid="proof-status"]'))).toMatch(/^verified/i);
      }, 20_000);
      expect(await used.getAttribute('data-source')).toBe('operator');
      expect((await textOf(used.locator('code'))).trim()).toBe(operatorKey);
    } finally {
      await tab.close();
    }
  });

  it('does not verify against a pinned key that is not the signer\'s: "not verified" and why', async () => {
    const other = await s.another({ CONSOLE_VERIFIER_KEYS: wrongVerifierKey() });
    const tab = await openTab(browser);
    try {
      await signIn(tab, other.baseUrl, s.keys.auditor);
      await open(tab, world.branched.conversationId, other.baseUrl);
      const status = await proofStatus(tab.page);
      expect(status).toMatch(/^not verified: \S/i);
      // The chain itself is still intact: only the proof's check failed.
      expect(await textOf(tab.page.locator('[data-testid="chain-status"]'))).toMatch(/valid/i);
    } finally {
      await tab.close();
    }
  });
});
