// The audit export for the current filter: streamed with progress, its SHA-256 computed here.
import { useEffect, useRef, useState } from 'react';
import { getKey } from '../api';
import { apiFilters } from '../filters';
import { useFilters } from '../use-filters';
import { checkNdjson, readAll, type ExportCheck, type Progress } from '../export/stream';
import { checkBundle, type BundleCheck } from '../export/tar';
import { REFUSED, signOut } from '../session';

type State =
  | { phase: 'idle' }
  | { phase: 'running'; progress: Progress; bundle: boolean }
  | {
      phase: 'done';
      progress: Progress;
      bundle: boolean;
      url: string;
      name: string;
      check: ExportCheck | null;
      /** The tar read here: manifest.json's SHA-256 of each file against this browser's (or why it could not). */
      bundleCheck: BundleCheck | string | null;
    }
  | { phase: 'failed'; message: string };

export function Export() {
  const filters = useFilters();
  const [bundle, setBundle] = useState(false);
  const [state, setState] = useState<State>({ phase: 'idle' });
  const abort = useRef<AbortController | null>(null);
  const url = state.phase === 'done' ? state.url : null;
  useEffect(() => () => void (url && URL.revokeObjectURL(url)), [url]);
  useEffect(() => () => abort.current?.abort(), []);

  async function start() {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(apiFilters(filters))) if (v !== undefined) params.set(k, String(v));
    if (bundle) params.set('bundle', '1');
    setState({ phase: 'running', progress: { lines: 0, bytes: 0 }, bundle });
    try {
      const response = await fetch(`/v1/audit/export?${params}`, {
        headers: { authorization: `Bearer ${getKey() ?? ''}` },
        signal: controller.signal,
      });
      if (response.status === 401) {
        signOut(REFUSED, '/export' + window.location.search);
        return;
      }
      if (!response.ok || !response.body) {
        const problem = (await response.json().catch(() => null)) as { detail?: string; code?: string } | null;
        throw new Error(
          problem?.detail ? `${problem.detail} (${problem.code})` : `the service answered ${response.status}`,
        );
      }
      const bytes = await readAll(response.body, (progress) => setState({ phase: 'running', progress, bundle }));
      const check = bundle ? null : await checkNdjson(bytes);
      const bundleCheck = bundle
        ? await checkBundle(bytes).catch((err: unknown) => (err instanceof Error ? err.message : String(err)))
        : null;
      const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], {
        type: bundle ? 'application/x-tar' : 'application/x-ndjson',
      });
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
      let lines = 0;
      for (const b of bytes) if (b === 0x0a) lines++;
      setState({
        phase: 'done',
        progress: { lines, bytes: bytes.length },
        bundle,
        url: URL.createObjectURL(blob),
        name: bundle ? `audit-bundle-${stamp}.tar` : `audit-export-${stamp}.ndjson`,
        check,
        bundleCheck,
      });
    } catch (err) {
      if (controller.signal.aborted) return;
      setState({ phase: 'failed', message: err instanceof Error ? err.message : String(err) });
    }
  }

  const progress = state.phase === 'running' || state.phase === 'done' ? state.progress : null;
  const check = state.phase === 'done' ? state.check : null;
  const bundleCheck = state.phase === 'done' ? state.bundleCheck : null;
  return (
    <section>
      <h1>Export</h1>
      <p className="hint">
        Every end that matches the filters, with its conversation’s events, as NDJSON; the last line is the manifest
        (its SHA-256 covers every byte before it). The signed bundle (a tar) is checked offline with{' '}
        <code>conversation-audit-verify</code>.
      </p>
      <div className="inline-form">
        <label className="checkbox">
          <input type="checkbox" checked={bundle} onChange={(e) => setBundle(e.target.checked)} />
          Signed bundle (tar)
        </label>
        <button type="button" onClick={start} disabled={state.phase === 'running'}>
          Start export
        </button>
      </div>
      {progress && (
        <p data-testid="export-progress" aria-live="polite">
          {state.phase === 'running' ? 'Receiving: ' : 'Received: '}
          {state.phase !== 'failed' && !(state as { bundle?: boolean }).bundle
            ? `${progress.lines.toLocaleString()} lines, `
            : ''}
          {progress.bytes.toLocaleString()} bytes
          {state.phase === 'done' ? ' (complete)' : '…'}
        </p>
      )}
      {state.phase === 'failed' && (
        <div role="alert" className="state state-error">
          The export failed: {state.message}
        </div>
      )}
      {state.phase === 'done' && (
        <div className="export-result">
          {check && (
            <dl className="facts">
              <dt>Manifest’s SHA-256</dt>
              <dd>
                <code data-testid="export-manifest-sha256">{check.manifestSha256 ?? 'no manifest line'}</code>
              </dd>
              <dt>Computed by this browser</dt>
              <dd>
                <code data-testid="export-computed-sha256">{check.computedSha256}</code>
              </dd>
              <dt>Result</dt>
              <dd>
                {check.manifestSha256 === check.computedSha256 ? (
                  <span className="badge ok">match: {check.records} records</span>
                ) : (
                  <span className="badge bad" role="alert">
                    mismatch: the file is not what the manifest describes
                  </span>
                )}
              </dd>
            </dl>
          )}
          {typeof bundleCheck === 'string' && (
            <div role="alert" className="state state-error">
              The bundle could not be read here: {bundleCheck}
            </div>
          )}
          {bundleCheck && typeof bundleCheck === 'object' && <BundleFacts check={bundleCheck} />}
          <a className="button" href={state.url} download={state.name}>
            Download
          </a>{' '}
          <span className="hint">{state.name}</span>
        </div>
      )}
    </section>
  );
}

function BundleFacts({ check }: { check: BundleCheck }) {
  return (
    <>
      <dl className="facts">
        <dt>manifest.json’s SHA-256 of events.ndjson</dt>
        <dd>
          <code data-testid="export-manifest-sha256">{check.manifestSha256 ?? 'not named'}</code>
        </dd>
        <dt>events.ndjson’s SHA-256, computed by this browser</dt>
        <dd>
          <code data-testid="export-computed-sha256">{check.computedSha256 ?? 'no events.ndjson'}</code>
        </dd>
        <dt>Result</dt>
        <dd data-testid="export-bundle-result">
          {check.match ? (
            <span className="badge ok">
              match: {check.records} events; every file the manifest lists ({check.files.length}) has its SHA-256
            </span>
          ) : (
            <span className="badge bad" role="alert">
              mismatch:{' '}
              {check.files
                .filter((f) => f.computed !== f.manifest)
                .map((f) => f.name)
                .join(', ') || 'events.ndjson is not listed'}{' '}
              not what the manifest describes
            </span>
          )}
        </dd>
      </dl>
      <p className="hint">
        The manifest’s own signature (manifest.sig) and the proofs are checked offline with{' '}
        <code>conversation-audit-verify</code>.
      </p>
    </>
  );
}
