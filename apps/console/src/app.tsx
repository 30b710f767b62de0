import { useIsFetching } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { getKey } from './api';
import { ErrorBoundary } from './components/error-boundary';
import { FilterBar } from './components/filter-bar';
import { queryOf } from './filters';
import { useFilters } from './use-filters';
import { useMe } from './queries';
import { Link, match, navigate, useLocation } from './router';
import { roleRefusal, signOut } from './session';
import { Blocked } from './views/blocked';
import { Compliance } from './views/compliance';
import { Conversation } from './views/conversation';
import { Ends } from './views/ends';
import { Export } from './views/export';
import { NotFound } from './views/not-found';
import { Overview } from './views/overview';
import { Sample } from './views/sample';
import { SignIn } from './views/sign-in';

const NAV = [
  { to: '/', label: 'Overview' },
  { to: '/ends', label: 'Ends' },
  { to: '/blocked', label: 'Blocked attempts' },
  { to: '/compliance', label: 'Compliance' },
  { to: '/sample', label: 'Sample' },
  { to: '/export', label: 'Export' },
];

export function App() {
  const location = useLocation();
  const signedIn = !!getKey();
  useEffect(() => {
    if (!signedIn && location.path !== '/sign-in') signOut(undefined, location.path + location.searchText);
  }, [signedIn, location.path, location.searchText]);
  if (location.path === '/sign-in' || !signedIn) return <SignIn key="sign-in" />;
  return <Shell />;
}

function Shell() {
  const location = useLocation();
  const filters = useFilters();
  const me = useMe();
  const fetching = useIsFetching();
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [location.path]);
  const role = me.data?.role;
  useEffect(() => {
    if (role && role !== 'auditor' && role !== 'admin') signOut(roleRefusal(role));
  }, [role]);

  const conversation = match('/conversations/:id', location.path);
  let view: React.ReactNode;
  if (location.path === '/' || location.path === '') view = <Overview />;
  else if (location.path === '/ends') view = <Ends />;
  else if (location.path === '/blocked') view = <Blocked />;
  else if (location.path === '/compliance') view = <Compliance />;
  else if (location.path === '/sample') view = <Sample />;
  else if (location.path === '/export') view = <Export />;
  else if (conversation) view = <Conversation id={conversation.id} me={me.data} />;
  else view = <NotFound />;
  const query = queryOf(filters);
  const title = conversation
    ? `Conversation ${conversation.id.slice(0, 8)}`
    : (NAV.find((n) => n.to === location.path)?.label ?? 'Not found');
  useEffect(() => {
    document.title = `${title} · Audit console`;
  }, [title]);
  const active = (to: string) =>
    to === '/' ? location.path === '/' : location.path === to || (to === '/ends' && !!conversation);

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <div className="brand">
          <Link to={`/${query}`}>Audit console</Link>
        </div>
        <button
          type="button"
          className="menu-button secondary"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <nav aria-label="Main" id="main-nav" className={menuOpen ? 'open' : ''}>
          <ul>
            {NAV.map((item) => (
              <li key={item.to}>
                <Link to={item.to + query} aria-current={active(item.to) ? 'page' : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
          <div className="who">
            {me.data ? (
              <span data-testid="who" title={me.data.label ?? undefined}>
                <span className="visually-hidden">Signed in as key </span>
                <code>{me.data.keyId.slice(0, 8)}</code> <span className="role">{me.data.role}</span>
                {me.data.tenantId !== '*' ? <span className="tenant"> · tenant {me.data.tenantId}</span> : null}
              </span>
            ) : (
              <span>…</span>
            )}
            <button type="button" className="secondary" onClick={() => signOut()}>
              Sign out
            </button>
          </div>
        </nav>
      </header>
      {!conversation && <FilterBar allTenants={me.data?.tenantId === '*'} />}
      <main id="main" aria-busy={fetching > 0} tabIndex={0}>
        <ErrorBoundary resetKey={location.path + location.searchText}>{view}</ErrorBoundary>
      </main>
    </div>
  );
}

export function goTo(to: string) {
  navigate(to);
}
