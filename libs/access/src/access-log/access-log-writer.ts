import { DatabaseError } from 'pg';
import { InvalidEvent } from '@app/event-store';
import type { AppendOptions, AppendResult, NewEvent, StoredEvent } from '@app/event-store';
import {
  AccessEntry,
  accessStreamId,
  ContentAccessedData,
  contentAccessedEvent,
  randomShard,
} from './content-accessed';

/** What the writer needs of the event store (PostgresEventStore). */
export interface AccessLogStore {
  append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult>;
  readByEventIds(eventIds: string[]): Promise<StoredEvent[]>;
}

export interface AccessLogOptions {
  /** Entries held at most, stored or not yet (ACCESS_LOG_BUFFER): past it, reads fail closed. */
  capacity: number;
  /** A flush at least this often (ACCESS_LOG_FLUSH_MS), and at once when a batch's worth waits. */
  flushIntervalMs: number;
  /** Access streams per tenant (ACCESS_LOG_SHARDS). */
  shards: number;
  /** Events per append at most. */
  maxPerAppend?: number;
  /** Quarantined entries kept in memory at most, the oldest dropped first (default 1000). */
  quarantineCapacity?: number;
  /** Called for each entry moved to the quarantine (the metric). */
  onQuarantine?: (entry: QuarantinedEntry) => void;
  log?: { error(message: string): void; warn(message: string): void };
}

/** An entry the store refused for good: out of the buffer, logged, kept here for a look. */
export interface QuarantinedEntry {
  streamId: string;
  event: NewEvent;
  /** Why the store refused it (SQLSTATE and message, or the store's validation message). */
  reason: string;
}

/** A group of entries appended together; kept whole until stored, so a retry is all or nothing. */
interface Group {
  streamId: string;
  events: NewEvent[];
  attempts: number;
}

const DEFAULT_MAX_PER_APPEND = 1000;
/** Failed groups tried again per flush at most: an outage must not turn into a storm of retries. */
const RETRIES_PER_FLUSH = 16;
const DEFAULT_QUARANTINE_CAPACITY = 1000;
/** SQLSTATE classes certain to fail again for the same entry: data exceptions, integrity violations. */
const LASTING_SQLSTATE_CLASSES = ['22', '23'];

/**
 * Whether an append's error will repeat however often it is tried: the store's own validation
 * (InvalidEvent) or a database error of class 22 or 23. Anything else (connection, timeout,
 * serialization failure, deadlock, classes 08, 40, 53, 57, an error without a SQLSTATE) may
 * pass, and the entries are tried again.
 */
export function failsForGood(err: unknown): boolean {
  if (err instanceof InvalidEvent) return true;
  return err instanceof DatabaseError && LASTING_SQLSTATE_CLASSES.includes(String(err.code).slice(0, 2));
}

/**
 * The bounded buffer of access entries, written off the request path: a flush appends every
 * waiting entry, one append per access stream, all submitted at once so the store's group commit
 * sends them together. A group that fails is kept and tried again as it was (same events, same
 * ids; after an unknown outcome it is looked up first), never dropped, until close gives up and
 * says how many were lost. The capacity bounds entries held either way: when the store cannot
 * take them the buffer fills and `offer` says no, which the API turns into 503.
 *
 * An append that fails with an error certain to repeat (failsForGood) would hold its entries,
 * and with them the buffer, for ever: its entries are appended again one by one, at once, and
 * each that still fails for good goes to the quarantine (an error log naming it, a bounded list,
 * onQuarantine), out of the buffer. One bad entry costs only itself.
 */
export class AccessLogWriter {
  private waiting: AccessEntry[] = [];
  private groups: Group[] = [];
  /** Entries in `groups`. */
  private retrying = 0;
  private inFlight = 0;
  private flushing: Promise<number> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private storedCount = 0;
  private readonly quarantine: QuarantinedEntry[] = [];
  private quarantinedCount = 0;

  constructor(
    private readonly store: AccessLogStore,
    private readonly options: AccessLogOptions,
  ) {}

  /** Entries held: waiting, being appended, or waiting to be tried again. */
  get held(): number {
    return this.waiting.length + this.inFlight + this.retrying;
  }

  /** Entries stored since start. */
  get stored(): number {
    return this.storedCount;
  }

  /** Entries quarantined since start (stored never; logged as errors). */
  get quarantinedTotal(): number {
    return this.quarantinedCount;
  }

  /** The latest quarantined entries (quarantineCapacity at most), oldest first. */
  get quarantined(): readonly QuarantinedEntry[] {
    return [...this.quarantine];
  }

  hasRoom(count = 1): boolean {
    return !this.closed && this.held + count <= this.options.capacity;
  }

  /** Takes the entries if all fit (false: none taken; the read must not be answered). */
  offer(entries: AccessEntry[]): boolean {
    if (!this.hasRoom(entries.length)) return false;
    this.push(entries);
    return true;
  }

  private push(entries: AccessEntry[]): void {
    this.waiting.push(...entries);
    // Early when a quarter of the buffer waits: bigger batches cost the store less than more of them.
    if (this.waiting.length >= Math.max(1, this.options.capacity / 4)) this.flushSoon();
  }

  start(): void {
    this.timer ??= setInterval(() => this.flushSoon(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /**
   * Appends what is held (after a flush already running, which may have taken only part of it);
   * resolves to how many are still held afterwards.
   */
  async flush(): Promise<number> {
    while (this.flushing) await this.flushing;
    this.flushing = this.flushOnce().finally(() => (this.flushing = null));
    return this.flushing;
  }

  /** The timer's and a filling buffer's flush: none if one is running (it runs again soon). */
  private flushSoon(): void {
    if (!this.flushing) void this.flush();
  }

  /**
   * Refuses new entries and flushes until nothing is held, or `attempts` flushes in a row stored
   * nothing; what is left then is lost, and said so in an error log with the count.
   */
  async close(attempts = 5, pauseMs = 200): Promise<number> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    let left = await this.flush();
    // On while flushes make progress (a flush retries a bounded number of failed groups).
    for (let failures = 1; left > 0 && failures < attempts;) {
      const before = left;
      left = await this.flush();
      if (left < before) continue;
      failures++;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    if (left > 0) this.options.log?.error(`access log: ${left} access entries could not be stored and are lost`);
    return left;
  }

  private async flushOnce(): Promise<number> {
    const count = (groups: Group[]) => groups.reduce((n, g) => n + g.events.length, 0);
    const retried = this.groups.splice(0, RETRIES_PER_FLUSH);
    this.retrying -= count(retried);
    const groups = [...retried, ...this.group(this.waiting.splice(0))];
    this.inFlight = count(groups);
    const failed = (await Promise.all(groups.map((g) => this.settle(g)))).flat();
    this.inFlight = 0;
    // Failed groups go first next time, ahead of those not tried this time.
    this.groups = [...failed, ...this.groups];
    this.retrying += count(failed);
    if (failed.length) {
      this.options.log?.warn(`access log: ${this.retrying} access entries not stored yet; trying again`);
    }
    return this.held;
  }

  /** Entries by tenant, each tenant's to one shard chosen at random, in appends of a bounded size. */
  private group(entries: AccessEntry[]): Group[] {
    const byTenant = new Map<string, NewEvent[]>();
    for (const entry of entries) {
      const tenant = entry.tenantId.toLowerCase();
      const events = byTenant.get(tenant) ?? [];
      byTenant.set(tenant, events);
      events.push(contentAccessedEvent(entry));
    }
    const max = this.options.maxPerAppend ?? DEFAULT_MAX_PER_APPEND;
    const groups: Group[] = [];
    for (const [tenant, events] of byTenant) {
      const streamId = accessStreamId(tenant, randomShard(this.options.shards));
      for (let i = 0; i < events.length; i += max)
        groups.push({ streamId, events: events.slice(i, i + max), attempts: 0 });
    }
    return groups;
  }

  /** Appends a group; resolves to the groups to try again (none: stored or quarantined). */
  private async settle(group: Group): Promise<Group[]> {
    const failure = await this.appendGroup(group);
    if (!failure) return [];
    if (!failsForGood(failure.error)) return [group];
    // The append is all or nothing, so one entry's fault fails all: each goes again alone, once.
    const tried =
      group.events.length === 1
        ? [{ single: group, failure }]
        : await Promise.all(
            group.events.map(async (event) => {
              const single = { streamId: group.streamId, events: [event], attempts: 0 };
              return { single, failure: await this.appendGroup(single) };
            }),
          );
    const left: Group[] = [];
    for (const { single, failure: failed } of tried) {
      if (!failed) continue;
      if (!failsForGood(failed.error) || !(await this.quarantineUnlessStored(single, failed.error))) left.push(single);
    }
    return left;
  }

  /**
   * Quarantines an entry that failed for good, unless it is stored after all (an attempt whose
   * answer was lost, then refused as a duplicate eventId); false: the lookup failed, try again.
   */
  private async quarantineUnlessStored(single: Group, error: unknown): Promise<boolean> {
    try {
      if ((await this.store.readByEventIds([single.events[0].eventId])).length > 0) {
        this.storedCount += 1;
        return true;
      }
    } catch {
      return false;
    }
    this.moveToQuarantine(single, error);
    return true;
  }

  /** Null when stored (now, or by an earlier attempt whose answer was lost); else the error. */
  private async appendGroup(group: Group): Promise<{ error: unknown } | null> {
    const attempt = group.attempts++;
    try {
      // A group tried before may have been stored by an attempt whose answer was lost.
      if (attempt > 0 && (await this.store.readByEventIds([group.events[0].eventId])).length > 0) {
        this.storedCount += group.events.length;
        return null;
      }
      await this.store.append(group.streamId, group.events, { expectedVersion: 'any' });
      this.storedCount += group.events.length;
      return null;
    } catch (error) {
      return { error };
    }
  }

  private moveToQuarantine(group: Group, error: unknown): void {
    const [event] = group.events;
    const reason =
      error instanceof DatabaseError
        ? `${error.code} ${error.message}`
        : error instanceof Error
          ? error.message
          : 'error';
    const entry: QuarantinedEntry = { streamId: group.streamId, event, reason };
    this.quarantinedCount++;
    this.quarantine.push(entry);
    if (this.quarantine.length > (this.options.quarantineCapacity ?? DEFAULT_QUARANTINE_CAPACITY)) {
      this.quarantine.shift();
    }
    const data = event.data as Partial<ContentAccessedData>;
    // Quoted and cut short: an entry the store refused may hold anything, newlines too.
    const show = (value: unknown) => JSON.stringify(String(value).slice(0, 200));
    this.options.log?.error(
      `access log: an access entry can never be stored and is quarantined (${show(reason)}): ` +
        `key ${show(data.keyId)}, tenant ${show(data.tenantId)}, route ${show(data.route)}, ` +
        `request ${show(data.requestId)}, event ${event.eventId}`,
    );
    this.options.onQuarantine?.(entry);
  }
}
