import { Client, Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import { runMigrations } from '@app/platform';
import { ProjectionRunner } from '@app/projections';
import { createHash } from 'node:crypto';
import {
  consistencyProof,
  generateSigningKeyPem,
  inclusionProof,
  leafHash,
  LEVEL_STEP,
  parseVerifierKey,
  rootAt,
  signerFromPem,
  verifyConsistency,
  verifyInclusion,
} from '@app/tlog';
import {
  catchUpSequencer,
  CheckpointSigner,
  RANGE_LEAVES,
  resolveOrigin,
  SEQUENCER_RUNNER_OPTIONS,
  SequencerProjection,
  StoredNodes,
  storedTreeSize,
} from '@app/transparency';
import { storeContender } from '../contenders';
import { machineCpuMs } from '../http/node-process';
import { median, medianOrNull } from '../stats';

export interface TlogResult {
  treeSize: number;
  /** Milliseconds per proof read from the stored nodes (one query each) of the tree of treeSize leaves. */
  inclusionMs: { median: number; p99: number };
  consistencyMs: { median: number; p99: number };
  fillSeconds: number;
  /** Events per second appended by `appendStreams` writers, without and with the sequencer and signer running. */
  appendStreams: number;
  appendWithout: number;
  appendWith: number;
  /** The median of with/without over pairs of rounds run back to back (goal >= 0.9). */
  appendRatio: number;
  /**
   * The machine's CPU time per appended event (µs; every process: the bench, PostgreSQL), medians
   * without and with the log, and the median over pairs of with/without: what the sequencer and
   * signer cost the machine per event, read far less disturbed by the host's load than the rates.
   * Null where /proc/stat cannot be read.
   */
  appendCpuUsWithout: number | null;
  appendCpuUsWith: number | null;
  appendCpuRatio: number | null;
  /** Median ms from the last append of a round with the log until its events were all leaves (counted in its rate). */
  catchUpMs: number;
}

export interface TlogPlan {
  leaves: number;
  proofs: number;
  streams: number;
  rounds: number;
  seconds: number;
}

/** A fresh database of its own on the bench's server (never cs_bench, which other figures use). */
async function freshDatabase(baseUrl: string, name: string): Promise<string> {
  const admin = new URL(baseUrl);
  admin.pathname = '/postgres';
  const c = new Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  return url.toString();
}

/**
 * Fills tlog_ranges and tlog_nodes with the tree of `leaves` leaves as the sequencer stores it (levels 0, 4, 8, …;
 * LEVEL_STEP), in the database: every level computed from the one below in a scratch table (one
 * INSERT … SELECT per level), the stored ones copied. Leaf data sha256(i).
 */
async function fillTree(pool: Pool, leaves: number): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query(
      'CREATE TEMP TABLE fill_nodes (level smallint, index bigint, hash bytea, PRIMARY KEY (level, index))',
    );
    await c.query(
      `INSERT INTO fill_nodes (level, index, hash)
       SELECT 0, i, sha256('\\x00'::bytea || sha256(int8send(i))) FROM generate_series(0, $1::bigint - 1) AS i`,
      [leaves],
    );
    for (let level = 0; 2 ** (level + 1) <= leaves; level++) {
      await c.query(
        `INSERT INTO fill_nodes (level, index, hash)
         SELECT $1::smallint + 1, l.index / 2, sha256('\\x01'::bytea || l.hash || r.hash)
           FROM fill_nodes l JOIN fill_nodes r ON r.level = $1 AND r.index = l.index + 1
          WHERE l.level = $1 AND l.index % 2 = 0`,
        [level],
      );
    }
    await c.query(
      `INSERT INTO tlog_nodes (level, index, hash)
       SELECT level, index, hash FROM fill_nodes WHERE level > 0 AND level % $1 = 0 ORDER BY level, index`,
      [LEVEL_STEP],
    );
    // The leaves as the sequencer stores them: ranges of RANGE_LEAVES (their places in the log made
    // up: the proofs never read es_events).
    await c.query(
      `INSERT INTO tlog_ranges (first_leaf, leaves, first_transaction_id, first_position, last_transaction_id,
                                last_position, hashes)
       SELECT min(index), count(*), '1'::xid8, min(index) + 1, '1'::xid8, max(index) + 1,
              string_agg(hash, ''::bytea ORDER BY index)
         FROM fill_nodes WHERE level = 0 GROUP BY index / $1 ORDER BY 1`,
      [RANGE_LEAVES],
    );
  } finally {
    await c.query('DROP TABLE IF EXISTS fill_nodes').catch(() => undefined);
    c.release();
  }
}

function percentiles(ms: number[]): { median: number; p99: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => Number(s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(3));
  return { median: at(0.5), p99: at(0.99) };
}

/** Deterministic pseudo-random integers below n (the same proofs every run). */
function sampler(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return Math.floor((x / 2 ** 32) * n);
  };
}

async function proofLatency(url: string, plan: TlogPlan, progress: (l: string) => void) {
  const pool = new Pool({ connectionString: url, max: 2 });
  try {
    progress(`tlog: storing the nodes of a ${plan.leaves}-leaf tree`);
    const started = performance.now();
    await fillTree(pool, plan.leaves);
    await pool.query('ANALYZE tlog_nodes');
    await pool.query('ANALYZE tlog_ranges');
    const fillSeconds = Number(((performance.now() - started) / 1000).toFixed(1));
    const nodes = new StoredNodes(pool);
    const size = plan.leaves;
    const root = await rootAt(nodes, size);
    // Warm: the plan of the one query, the index's upper levels.
    for (let i = 0; i < 100; i++) await inclusionProof(nodes, (i * 7919) % size, size);
    const rand = sampler(42);
    const inclusion: number[] = [];
    const consistency: number[] = [];
    for (let i = 0; i < plan.proofs; i++) {
      const leaf = rand(size);
      let t0 = performance.now();
      const path = await inclusionProof(nodes, leaf, size);
      inclusion.push(performance.now() - t0);
      const data = Buffer.alloc(8);
      data.writeBigInt64BE(BigInt(leaf));
      if (!verifyInclusion(leaf, size, leafHash(createHash('sha256').update(data).digest()), path, root)) {
        throw new Error(`inclusion proof of leaf ${leaf} does not verify`);
      }
      const from = 1 + rand(size - 1);
      t0 = performance.now();
      const proof = await consistencyProof(nodes, from, size);
      consistency.push(performance.now() - t0);
      if (i < 20 && !verifyConsistency(from, size, proof, await rootAt(nodes, from), root)) {
        throw new Error(`consistency proof ${from}..${size} does not verify`);
      }
    }
    return { fillSeconds, inclusionMs: percentiles(inclusion), consistencyMs: percentiles(consistency) };
  } finally {
    await pool.end();
  }
}

/** `streams` writers appending for `seconds`: the events appended and the time taken. */
async function appendFor(store: PostgresEventStore, streams: number, seconds: number) {
  const contender = storeContender(store);
  const writers = Array.from({ length: streams }, () => contender.stream());
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let events = 0;
  await Promise.all(
    writers.map(async (append) => {
      while (performance.now() < deadline) {
        await append();
        events++;
      }
    }),
  );
  return { events, started };
}

/**
 * The append rate without and with the sequencer and the signer (a checkpoint every second, 60
 * times more often than the default) on the same database, in pairs of rounds run back to back
 * (the machine's load drifts; a pair shares it). A round with the log starts caught up and
 * ends once its own events are all leaves: its rate counts the time to sequence them, the last
 * batch included (the sequencer takes one every 100 ms at most, so that tail is a fixed 100 to
 * 300 ms: rounds of 10 s by default keep it from passing for a cost per event).
 */
async function appendComparison(url: string, plan: TlogPlan, progress: (l: string) => void) {
  const pool = new Pool({ connectionString: url, max: plan.streams + 8 });
  const store = new PostgresEventStore(pool);
  const origin = await resolveOrigin(pool, 'bench.example/log');
  const signer = new CheckpointSigner(pool, origin, signerKey(origin), {});
  try {
    // A warm-up of each kind of round (the sequencer's and the signer's code and statements too).
    await appendFor(store, plan.streams, 1);
    await catchUpSequencer(pool, store);
    const warmRunner = new ProjectionRunner(pool, store, new SequencerProjection(), SEQUENCER_RUNNER_OPTIONS);
    warmRunner.start();
    signer.start(1000);
    await appendFor(store, plan.streams, 2);
    await catchUpSequencer(pool, store, 120_000);
    await warmRunner.stop();
    await signer.stop();
    const without: number[] = [];
    const withLog: number[] = [];
    const ratios: number[] = [];
    const cpu = { without: [] as number[], with: [] as number[], ratios: [] as number[] };
    const tails: number[] = [];
    for (let round = 0; round < plan.rounds; round++) {
      const pair: Record<string, number> = {};
      const pairCpu: Record<string, number | null> = {};
      for (const on of round % 2 ? [true, false] : [false, true]) {
        if (on) await catchUpSequencer(pool, store);
        const runner = on
          ? new ProjectionRunner(pool, store, new SequencerProjection(), SEQUENCER_RUNNER_OPTIONS)
          : null;
        runner?.start();
        if (on) signer.start(1000);
        const cpuBefore = machineCpuMs();
        const { events, started } = await appendFor(store, plan.streams, plan.seconds);
        const appended = performance.now();
        if (on) await catchUpSequencer(pool, store, 120_000);
        const ended = performance.now();
        const cpuAfter = machineCpuMs();
        const rate = events / ((ended - started) / 1000);
        const cpuUs = cpuBefore === null || cpuAfter === null ? null : ((cpuAfter - cpuBefore) * 1000) / events;
        await runner?.stop();
        await signer.stop();
        (on ? withLog : without).push(rate);
        pair[on ? 'with' : 'without'] = rate;
        pairCpu[on ? 'with' : 'without'] = cpuUs;
        if (cpuUs !== null) cpu[on ? 'with' : 'without'].push(cpuUs);
        if (on) tails.push(ended - appended);
        progress(
          `tlog: append round ${round + 1}/${plan.rounds} ${on ? 'with' : 'without'} the log: ` +
            `${Math.round(rate)} events/s, ${cpuUs === null ? '?' : Math.round(cpuUs)} µs of machine CPU per event` +
            (on ? `, caught up ${Math.round(ended - appended)} ms after the last append` : ''),
        );
      }
      ratios.push(pair.with / pair.without);
      if (pairCpu.with != null && pairCpu.without != null) cpu.ratios.push(pairCpu.with / pairCpu.without);
    }
    progress(`tlog: ${await storedTreeSize(pool)} events sequenced`);
    return {
      appendWithout: Math.round(median(without)),
      appendWith: Math.round(median(withLog)),
      appendRatio: Number(median(ratios).toFixed(2)),
      appendCpuUsWithout: medianOrNull(cpu.without, 0),
      appendCpuUsWith: medianOrNull(cpu.with, 0),
      appendCpuRatio: medianOrNull(cpu.ratios, 2),
      catchUpMs: Math.round(median(tails)),
    };
  } finally {
    await store.close();
    await pool.end();
  }
}

function signerKey(origin: string) {
  const signer = signerFromPem(origin, generateSigningKeyPem());
  return { ...signer, publicKey: parseVerifierKey(signer.verifierKey).publicKey };
}

/** The transparency log's figures, each on a fresh database of its own. */
export async function runTlogBenchmark(
  baseUrl: string,
  plan: TlogPlan,
  progress: (l: string) => void,
): Promise<TlogResult> {
  const appends = await appendComparison(await freshDatabase(baseUrl, 'cs_bench_tlog'), plan, progress);
  const proofs = await proofLatency(await freshDatabase(baseUrl, 'cs_bench_tlog_tree'), plan, progress);
  return {
    treeSize: plan.leaves,
    ...proofs,
    appendStreams: plan.streams,
    ...appends,
  };
}
