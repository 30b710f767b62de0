import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { describeInBrowser } from './support/chromium';
import {
  cspRefusals,
  cspViolations,
  eventually,
  expectAccessible,
  launch,
  openTab,
  settled,
  signIn,
  type Tab,
  WIDTHS,
} from './support/browser';
import {
  type ContentfulConversation,
  eraseSubjectWithHolds,
  placeHold,
  type SeededErasure,
  seedContentfulConversation,
} from './support/seed';
import { type ConsoleService, startConsoleService } from './support/service';
import { goto, textOf } from './support/views';

jest.setTimeout(180_000);

/** The proof badge once it settled on "verified" or "not verified: …". */
async function proofStatus(page: Page): Promise<string> {
  const badge = page.locator('[data-testid="proof-status"]');
  return eventually(async () => {
    const text = await textOf(badge);
    expect(text).toMatch(/^(verified|not verified)/i);
    return text;
  }, 20_000);
}

/**
 * Issue 14 in the console: an erased conversation reads "Content erased" wherever its text was, shows
 * its ContentErased event (scope, reason, actor, time) and still verifies; the subject's legal holds,
 * open and released, are shown beside the conversation's erasures.
 */
describeInBrowser('Console: erased content, legal holds and erasures', () => {
  let s: ConsoleService;
  let browser: Browser;
  let t: Tab;
  /** Erased (through the API, admin key), with a hold released before and one placed after. */
  let erased: ContentfulConversation;
  let erasure: SeededErasure;
  /** Not erased, under an open hold. */
  let held: ContentfulConversation;
  let heldHold: { holdId: string; reason: string };

  const open = async (tab: Tab, conversationId: string) => {
    await goto(tab.page, s.baseUrl, `/console/conversations/${conversationId}`);
    await tab.page.locator('[data-testid="message-tree"]').waitFor();
    await settled(tab.page);
  };

  beforeAll(async () => {
    s = await startConsoleService();
    erased = await seedContentfulConversation(s, `subject-erased-${randomUUID()}`);
    erasure = await eraseSubjectWithHolds(s, erased);
    held = await seedContentfulConversation(s, `subject-held-${randomUUID()}`);
    heldHold = { reason: 'Regulator inquiry 2026-17', holdId: '' };
    heldHold.holdId = await placeHold(s, held.tenantId, held.subjectId, heldHold.reason);
    // The hold keeps the content: the API refuses to erase it (409 LEGAL_HOLD).
    const refused = await s.client(s.keys.admin).POST('/v1/subjects/{subjectId}/erasure', {
      params: { path: { subjectId: held.subjectId } },
      body: { reason: 'should be refused', tenantId: held.tenantId },
    });
    expect(refused.response.status).toBe(409);
    await s.signedCheckpoint();
    browser = await launch();
    t = await openTab(browser);
    await signIn(t, s.baseUrl, s.keys.auditor);
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  describe('an erased conversation', () => {
    beforeAll(() => open(t, erased.conversationId));

    it('given its subject erased, when shown, then every message reads "Content erased", no text left', async () => {
      const messages = t.page.locator('[data-testid="message-tree"] [data-testid="message"]');
      expect(await messages.count()).toBe(Object.keys(erased.messages).length);
      for (const id of Object.keys(erased.messages)) {
        const message = t.page.locator(`[data-testid="message"][data-message-id="${id}"]`);
        expect(await message.getAttribute('data-content-erased')).toBe('true');
        // A marker with text (not an empty bubble), and named so to assistive technology.
        expect(await textOf(message.locator('[data-testid="message-erased"]'))).toBe('Content erased');
        expect(await message.getAttribute('aria-label')).toMatch(/content erased/i);
      }
      const page = await textOf(t.page.locator('main'));
      for (const text of erased.texts) expect(page).not.toContain(text);
    });

    it('given the explanation, comment and review note erased, when shown, then each says so', async () => {
      const decision = t.page.locator('.decision-end');
      expect(await textOf(decision)).toMatch(/Explanation: explanation erased/);
      const feedback = t.page.locator('[data-testid="mark-feedback"]');
      expect(await textOf(feedback)).toMatch(/comment erased/);
      const review = t.page.locator('[data-testid="review"]');
      expect(await textOf(review)).toMatch(/upheld .*note erased/);
    });

    it('shows its ContentErased event in the timeline: scope, reason, actor and time, no content', async () => {
      const mark = t.page.locator('[data-testid="mark-erasure"]');
      expect(await mark.count()).toBe(1);
      const text = await textOf(mark);
      expect(text).toContain('Content erased');
      expect(text).toContain('erasure of the subject');
      expect(text).toContain(erasure.reason);
      expect(text).toContain(`operator ${s.keys.admin.id.slice(0, 8)}`);
      expect(await mark.locator('time').count()).toBe(1);
      expect(await textOf(t.page.locator('[data-testid="content-state"]'))).toMatch(/^erased /);
    });

    it('lists the erasure under "Holds and erasures", with the keys it destroyed', async () => {
      const section = t.page.locator('[data-testid="holds-and-erasures"]');
      const rows = section.locator('[data-testid="erasure"]');
      expect(await rows.count()).toBe(1);
      expect(await rows.getAttribute('data-scope')).toBe('subject');
      const text = await textOf(rows);
      expect(text).toContain(erasure.reason);
      expect(text).toMatch(/1 content key destroyed/);
      expect(text).toContain(s.keys.admin.id.slice(0, 8));
    });

    it("shows the subject's holds: the one released before erasure as released, the later one open", async () => {
      const holds = t.page.locator('[data-testid="holds-and-erasures"] [data-testid="hold"]');
      expect(await holds.count()).toBe(2);
      const released = holds.and(t.page.locator(`[data-hold-id="${erasure.releasedHold.holdId}"]`));
      expect(await released.getAttribute('data-state')).toBe('released');
      const releasedText = await textOf(released);
      expect(releasedText).toMatch(/^released /);
      expect(releasedText).toContain(erasure.releasedHold.reason);
      expect(releasedText).toMatch(/placed by .+; released by /);
      expect(await released.locator('time').count()).toBe(2);
      const open = holds.and(t.page.locator(`[data-hold-id="${erasure.openHold.holdId}"]`));
      expect(await open.getAttribute('data-state')).toBe('open');
      expect(await textOf(open)).toMatch(/^open /);
      expect(await textOf(open)).toContain(erasure.openHold.reason);
      expect(await textOf(open)).not.toMatch(/released/);
    });

    it('still verifies: the chain is valid, recomputed by the browser over the stored (encrypted) form', async () => {
      expect(await textOf(t.page.locator('[data-testid="chain-status"]'))).toBe('valid');
      expect(await proofStatus(t.page)).toMatch(/^verified: \d+ events/i);
    });
  });

  describe('a conversation under an open hold', () => {
    beforeAll(() => open(t, held.conversationId));

    it('given the erasure was refused, when shown, then its content is readable and its hold open', async () => {
      for (const [id, text] of Object.entries(held.messages)) {
        const message = t.page.locator(`[data-testid="message"][data-message-id="${id}"]`);
        expect(await message.getAttribute('data-content-erased')).toBeNull();
        expect(await textOf(message)).toContain(text.slice(0, 30));
      }
      expect(await t.page.locator('[data-testid="message-erased"], [data-testid="content-erased"]').count()).toBe(0);
      const holds = t.page.locator('[data-testid="hold"]');
      expect(await holds.count()).toBe(1);
      expect(await holds.getAttribute('data-hold-id')).toBe(heldHold.holdId);
      expect(await holds.getAttribute('data-state')).toBe('open');
      expect(await textOf(holds)).toContain(heldHold.reason);
      expect(await t.page.locator('[data-testid="erasure"]').count()).toBe(0);
      expect(await textOf(t.page.locator('[data-testid="holds-and-erasures"]'))).toMatch(/never erased/);
      expect(await proofStatus(t.page)).toMatch(/^verified/i);
    });
  });

  it('given a message that does not decrypt (null, contentUnreadable), then it reads unreadable', async () => {
    const tab = await openTab(browser);
    const target = Object.keys(held.messages)[1];
    try {
      // As the service answers a field whose envelope does not open (altered, or its master key missing).
      await tab.page.route('**/v1/audit/conversations/*/timeline', async (route) => {
        const response = await route.fetch();
        const body = (await response.json()) as {
          events: { data: { messageId?: string; content?: unknown }; contentUnreadable?: true }[];
        };
        const event = body.events.find((e) => e.data.messageId === target && 'content' in e.data)!;
        event.data.content = null;
        event.contentUnreadable = true;
        await route.fulfill({ response, json: body });
      });
      await signIn(tab, s.baseUrl, s.keys.auditor);
      await open(tab, held.conversationId);
      const message = tab.page.locator(`[data-testid="message"][data-message-id="${target}"]`);
      expect(await textOf(message.locator('[data-testid="message-unreadable"]'))).toBe('Content unreadable');
      expect(await message.getAttribute('aria-label')).toMatch(/content unreadable/i);
      expect(await message.getAttribute('data-content-erased')).toBeNull();
      expect(await tab.page.locator('[data-testid="message-erased"]').count()).toBe(0);
    } finally {
      await tab.close();
    }
  });

  it("given an auditor key of the conversation's tenant, when it opens it, then it sees the same holds", async () => {
    const tab = await openTab(browser);
    try {
      await signIn(tab, s.baseUrl, s.keys.acmeAuditor);
      await open(tab, erased.conversationId);
      const holds = tab.page.locator('[data-testid="hold"]');
      await holds.first().waitFor();
      const states: Record<string, string> = {};
      for (const h of await holds.all())
        states[(await h.getAttribute('data-hold-id'))!] = (await h.getAttribute('data-state'))!;
      expect(states).toEqual({ [erasure.releasedHold.holdId]: 'released', [erasure.openHold.holdId]: 'open' });
      expect(await tab.page.getByRole('alert').count()).toBe(0);
    } finally {
      await tab.close();
    }
  });

  describe.each(WIDTHS)('at %i px', (width) => {
    let tab: Tab;
    beforeAll(async () => {
      tab = await openTab(browser, width);
      await signIn(tab, s.baseUrl, s.keys.auditor);
    });
    afterAll(() => tab.close());

    it('the erased conversation has no serious or critical axe violation, no overflow and no CSP refusal', async () => {
      await open(tab, erased.conversationId);
      await tab.page.locator('[data-testid="hold"]').first().waitFor();
      expect(await proofStatus(tab.page)).toMatch(/^verified/i);
      await expectAccessible(tab.page, `erased conversation at ${width}`);
      const overflow = (await tab.page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
      expect(overflow).toBe(0);
      expect(await cspViolations(tab.page)).toEqual([]);
      expect(cspRefusals(tab)).toEqual([]);
      expect(tab.errors.filter((e) => e.startsWith('page error'))).toEqual([]);
    });
  });
});
