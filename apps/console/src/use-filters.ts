import { filtersOf, type Filters } from './filters';
import { useLocation } from './router';

/** The filters of the address bar (the filter bar writes them there). */
export function useFilters(): Filters {
  return filtersOf(useLocation().search);
}
