import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, setKey } from '../api';
import { fetchMe } from '../queries';
import { navigate } from '../router';
import { REFUSED, roleRefusal, takeNotice, takeReturnTo } from '../session';

export function SignIn() {
  const [notice] = useState(takeNotice);
  const [error, setError] = useState<string | null>(notice);
  const [key, setKeyText] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.title = 'Sign in · Audit console';
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const candidate = key.trim();
    if (!candidate) {
      setError('Enter an API key.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const me = await fetchMe(candidate);
      if (me.role !== 'auditor' && me.role !== 'admin') {
        setError(roleRefusal(me.role));
        return;
      }
      setKey(candidate);
      navigate(takeReturnTo(), { replace: true });
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? REFUSED
          : `The service could not be asked: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="sign-in" aria-busy={busy}>
      <h1>Audit console</h1>
      <p>Sign in with an auditor or admin API key. It stays in this tab only and is forgotten when the tab closes.</p>
      <form onSubmit={submit} aria-label="Sign in">
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(e) => setKeyText(e.target.value)}
          placeholder="csk_…"
        />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      {error && (
        <div role="alert" className="state state-error">
          {error}
        </div>
      )}
      <p className="hint">
        An administrator makes one with <code>npm run cli -- keys:create --role auditor --tenant &lt;id|*&gt;</code>.
      </p>
    </main>
  );
}
