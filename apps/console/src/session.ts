// Signing in and out: the key lives in this tab's sessionStorage only, never in a URL.
import { QueryCache, QueryClient, MutationCache } from '@tanstack/react-query';
import { ApiError, clearKey } from './api';
import { navigate } from './router';

export const REFUSED = 'Your key was refused (revoked or unknown). Sign in again.';
const NOTICE = 'console.notice';
const RETURN_TO = 'console.returnTo';

export function roleRefusal(role: string): string {
  return `This is a ${role} key: the console needs an auditor or admin key.`;
}

export function takeNotice(): string | null {
  const notice = sessionStorage.getItem(NOTICE);
  sessionStorage.removeItem(NOTICE);
  return notice;
}

export function takeReturnTo(): string {
  const to = sessionStorage.getItem(RETURN_TO);
  sessionStorage.removeItem(RETURN_TO);
  return to && to.startsWith('/') && !to.startsWith('/sign-in') ? to : '/';
}

/** Forgets the key and every cached answer; back to sign-in (with a notice, and the place to come back to). */
export function signOut(notice?: string, returnTo?: string) {
  clearKey();
  queryClient.clear();
  if (notice) sessionStorage.setItem(NOTICE, notice);
  if (returnTo) sessionStorage.setItem(RETURN_TO, returnTo);
  navigate('/sign-in', { replace: !!notice });
}

function onError(error: unknown) {
  if (error instanceof ApiError && error.status === 401) {
    const here = window.location.pathname.replace(/^\/console/, '') + window.location.search;
    signOut(REFUSED, here);
  }
}

export const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
  defaultOptions: {
    queries: {
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      refetchOnWindowFocus: false,
      staleTime: 15_000,
    },
  },
});
