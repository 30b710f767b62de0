// Server state through TanStack Query: every read of the console, keyed by its parameters.
import { useQuery } from '@tanstack/react-query';
import { client, getKey, unwrap } from './api';

type Answer = { data?: unknown; error?: unknown; response: Response };
type LooseClient = { GET(path: string, init: { params?: { query?: Record<string, unknown> } }): Promise<Answer> };
// Issue 12's additions before the regenerated client types land: the same calls, typed here.
const loose = client as unknown as LooseClient;

export interface Me {
  keyId: string;
  role: 'writer' | 'operator' | 'auditor' | 'admin';
  tenantId: string;
  label: string | null;
}

export interface StatsBucket {
  start: string;
  counts: Record<string, number>;
  total: number;
  conversationsStarted: number;
  ratePer1000: number | null;
}

export interface Policy {
  version: number;
  endCapableModels: string[];
  minRedirectionAttempts: number;
  requireWarning: boolean;
  reasonCodes: { code: string; meaning: string; initiators: string[]; explanationRequired: boolean }[];
  guards: { guard: string; rule: string }[];
}

export const fetchMe = async (key?: string): Promise<Me> => {
  const headers = key ? { authorization: `Bearer ${key}` } : undefined;
  return unwrap((await loose.GET('/v1/me', { headers } as never)) as Answer) as Me;
};

export function useMe() {
  return useQuery({ queryKey: ['me', getKey()], queryFn: () => fetchMe(), staleTime: 60_000, enabled: !!getKey() });
}

export function usePolicies() {
  return useQuery({
    queryKey: ['policies'],
    queryFn: async () => unwrap(await loose.GET('/v1/audit/policies', {})) as { items: Policy[] },
    staleTime: 10 * 60_000,
  });
}

export type EndStatsGroup = 'reasonCode' | 'modelId' | 'initiator' | 'reviewOutcome';

export function useEndStats(groupBy: EndStatsGroup, query: Record<string, unknown>) {
  return useQuery({
    queryKey: ['stats/ends', groupBy, query],
    queryFn: async () =>
      unwrap(await loose.GET('/v1/audit/stats/ends', { params: { query: { ...query, groupBy, bucket: 'day' } } })) as {
        buckets: StatsBucket[];
      },
  });
}

export function useBlockedStats(groupBy: 'guard' | 'modelId' | 'reasonCode', query: Record<string, unknown>) {
  return useQuery({
    queryKey: ['stats/blocked-ends', groupBy, query],
    queryFn: async () =>
      unwrap(await loose.GET('/v1/audit/stats/blocked-ends', { params: { query: { ...query, groupBy } } })) as {
        groupBy: string;
        total: number;
        items: { key: string; count: number }[];
      },
  });
}

/** The operator's pinned verifier keys (`/console/config.json`, a file of the console, not an API call). */
export function useConsoleConfig() {
  return useQuery({
    queryKey: ['console-config'],
    queryFn: async (): Promise<{ verifierKeys: string[] }> => {
      const response = await fetch('/console/config.json', { cache: 'no-cache' });
      if (!response.ok) return { verifierKeys: [] };
      const body = (await response.json()) as { verifierKeys?: unknown };
      const keys = Array.isArray(body.verifierKeys) ? body.verifierKeys.filter((k) => typeof k === 'string') : [];
      return { verifierKeys: keys as string[] };
    },
    staleTime: Infinity,
  });
}
