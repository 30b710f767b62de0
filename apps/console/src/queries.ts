// Server state through TanStack Query: the reads several views share, keyed by their parameters.
import { useQuery } from '@tanstack/react-query';
import { client, getKey, unwrap, type Schemas } from './api';
import type { EndQuery } from './filters';

export type Me = Schemas['MeDto'];
export type StatsBucket = Schemas['EndStatsBucketDto'];
export type Policy = Schemas['PolicyDto'];

/** Who the key is (a key being tried at sign-in is passed; else the signed-in one is sent). */
export const fetchMe = async (key?: string): Promise<Me> =>
  unwrap(await client.GET('/v1/me', key ? { headers: { authorization: `Bearer ${key}` } } : {}));

export function useMe() {
  return useQuery({ queryKey: ['me', getKey()], queryFn: () => fetchMe(), staleTime: 60_000, enabled: !!getKey() });
}

export function usePolicies() {
  return useQuery({
    queryKey: ['policies'],
    queryFn: async () => unwrap(await client.GET('/v1/audit/policies')),
    staleTime: 10 * 60_000,
  });
}

export type EndStatsGroup = 'reasonCode' | 'modelId' | 'initiator' | 'reviewOutcome';

export function useEndStats(groupBy: EndStatsGroup, query: EndQuery) {
  return useQuery({
    queryKey: ['stats/ends', groupBy, query],
    queryFn: async () =>
      unwrap(await client.GET('/v1/audit/stats/ends', { params: { query: { ...query, groupBy, bucket: 'day' } } })),
  });
}

export type BlockedQuery = { from?: string; to?: string; reasonCode?: string; modelId?: string; tenantId?: string };

export function useBlockedStats(groupBy: 'guard' | 'modelId' | 'reasonCode', query: BlockedQuery) {
  return useQuery({
    queryKey: ['stats/blocked-ends', groupBy, query],
    queryFn: async () =>
      unwrap(await client.GET('/v1/audit/stats/blocked-ends', { params: { query: { ...query, groupBy } } })),
  });
}

/** The operator's pinned verifier keys (`/console/config.json`: a file of the console, not of the API). */
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
