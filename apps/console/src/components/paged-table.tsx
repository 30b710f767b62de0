// Keyset pagination (the API's opaque cursors, never offsets): a stack of cursors for "Previous page".
import { useQuery } from '@tanstack/react-query';
import { useState, type KeyboardEvent, type ReactNode } from 'react';
import { shortId } from '../format';
import { Link, navigate, useLocation } from '../router';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export function usePaged<T>(key: unknown[], fetchPage: (cursor: string | undefined) => Promise<Page<T>>) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const query = useQuery({ queryKey: [...key, cursor ?? null], queryFn: () => fetchPage(cursor) });
  return {
    query,
    page: cursors.length,
    next: query.data?.nextCursor ? () => setCursors([...cursors, query.data!.nextCursor!]) : undefined,
    previous: cursors.length > 1 ? () => setCursors(cursors.slice(0, -1)) : undefined,
  };
}

export function Pager(props: { page: number; next?: () => void; previous?: () => void; count: number }) {
  return (
    <div className="pager">
      <button type="button" className="secondary" onClick={props.previous} disabled={!props.previous}>
        Previous page
      </button>
      <span aria-live="polite">
        Page {props.page} · {props.count} rows
      </span>
      <button type="button" className="secondary" onClick={props.next} disabled={!props.next}>
        Next page
      </button>
    </div>
  );
}

/** A row that opens a conversation on click or Enter. */
export function rowOpen(to: string) {
  return {
    tabIndex: 0,
    className: 'row-link',
    onClick: () => navigate(to),
    onKeyDown: (event: KeyboardEvent) => {
      if (event.key === 'Enter' && event.target === event.currentTarget) navigate(to);
    },
  };
}

/**
 * A row's link to its conversation: out of the tab order (the row itself is focusable and opens
 * on Enter), and its click not passed on to the row's own.
 */
export function ConversationLink({ to, conversationId }: { to: string; conversationId: string }) {
  return (
    <Link to={to} tabIndex={-1} onClick={(ev) => ev.stopPropagation()}>
      {shortId(conversationId)}
    </Link>
  );
}

/** The API's order of a time-ordered list: desc newest first (the default), asc oldest first. */
export type Order = 'desc' | 'asc';

/**
 * The list's order, kept in the URL (`order=asc`; newest first when absent): the API pages in
 * that order, so "Oldest first" starts at the oldest row of all pages, not of one.
 */
export function useOrder(): [Order, () => void] {
  const location = useLocation();
  const order: Order = location.search.get('order') === 'asc' ? 'asc' : 'desc';
  const flip = () => {
    const search = new URLSearchParams(location.search);
    if (order === 'desc') search.set('order', 'asc');
    else search.delete('order');
    const text = search.toString();
    navigate(location.path + (text ? `?${text}` : ''));
  };
  return [order, flip];
}

/** The time column's header: a button that flips the order (aria-sort tells the current one). */
export function TimeHeader({ label, order, onFlip }: { label: string; order: Order; onFlip: () => void }) {
  return (
    <th scope="col" aria-sort={order === 'desc' ? 'descending' : 'ascending'}>
      {label}{' '}
      <button type="button" className="sort" onClick={onFlip} title="Change the order (of all pages)">
        {order === 'desc' ? 'Newest first' : 'Oldest first'}
      </button>
    </th>
  );
}

/**
 * A table's scrolling region: focusable (keyboard users scroll it), named for screen readers, and
 * with `scrollHint`, the line that tells narrow screens more columns lie to the right.
 */
export function TableRegion(props: { label: string; scrollHint?: boolean; children: ReactNode }) {
  const hintId = `${props.label.toLowerCase().replace(/\W+/g, '-')}-scroll-hint`;
  const region = (
    <div
      className="table-scroll"
      role="region"
      aria-label={props.label}
      tabIndex={0}
      aria-describedby={props.scrollHint ? hintId : undefined}
    >
      {props.children}
    </div>
  );
  if (!props.scrollHint) return region;
  return (
    <>
      <p className="hint scroll-hint" id={hintId}>
        More columns to the right: scroll the table sideways. →
      </p>
      {region}
    </>
  );
}
