// Five charts from the stats endpoints (never by paging ends): each bar or slice opens the filtered list.
import { useMemo } from 'react';
import { ChartFigure, PALETTE, type ChartOption, type ChartOptionAt, type ChartRow } from '../components/chart';
import { ErrorState, Loading } from '../components/states';
import { apiFilters, blockedFilters, queryOf, type Filters } from '../filters';
import { useFilters } from '../use-filters';
import { REVIEW_LABEL } from '../format';
import { useBlockedStats, useEndStats, type EndStatsGroup, type StatsBucket } from '../queries';
import { navigate } from '../router';

const axisText = { color: '#374151' };

function sumCounts(buckets: StatsBucket[]): [string, number][] {
  const totals = new Map<string, number>();
  for (const b of buckets) for (const [k, v] of Object.entries(b.counts)) totals.set(k, (totals.get(k) ?? 0) + v);
  return [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Below this width a chart has no room for labels beside it: they go above bars and into the legend. */
const NARROW = 520;
/** A rough width of a label of the console's chart text (12 px sans-serif), for laying out legends. */
const textWidth = (text: string) => text.length * 7.2;

/**
 * Horizontal bars with the category and the count written above each bar (so long guard words
 * and model ids are never cut, at any width); vertical bars keep the axis labels.
 */
function barOption(rows: ChartRow[], horizontal = true): ChartOption {
  const data = rows.map((r, i) => ({ value: r.value, to: r.to, itemStyle: { color: PALETTE[i % PALETTE.length] } }));
  const categories = rows.map((r) => r.label);
  const value = { type: 'value' as const, minInterval: 1, axisLabel: axisText };
  if (!horizontal) {
    const category = {
      type: 'category' as const,
      data: categories,
      axisLabel: { ...axisText, width: 150, overflow: 'break' as const },
    };
    return {
      tooltip: { trigger: 'item' },
      grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
      xAxis: category,
      yAxis: value,
      series: [{ type: 'bar', data, cursor: 'pointer', label: { show: true, position: 'top', color: '#111827' } }],
    };
  }
  return {
    tooltip: { trigger: 'item' },
    grid: { left: 8, right: 24, top: 20, bottom: 8, containLabel: true },
    xAxis: value,
    yAxis: { type: 'category', data: categories, inverse: true, axisLabel: { show: false }, axisTick: { show: false } },
    series: [
      {
        type: 'bar',
        data,
        cursor: 'pointer',
        barMaxWidth: 28,
        barCategoryGap: '55%',
        // Above the bar, from its start: "INSUFFICIENT_REDIRECTION: 2".
        label: { show: true, position: [0, -16], formatter: '{b}: {c}', color: '#111827', fontSize: 12 },
      },
    ],
  };
}

/**
 * A donut; where it is narrow the slices carry no outside labels (they would be cut) and the
 * legend below names every slice with its count, wrapped over as many lines as it needs.
 */
function pieOption(rows: ChartRow[], width: number): ChartOption {
  const narrow = width < NARROW;
  const count = new Map(rows.map((r) => [r.label, r.value]));
  return {
    tooltip: { trigger: 'item' },
    legend: {
      bottom: 0,
      textStyle: axisText,
      formatter: (name: string) => `${name}: ${count.get(name) ?? 0}`,
    },
    series: [
      {
        type: 'pie',
        radius: narrow ? ['30%', '58%'] : ['35%', '65%'],
        center: ['50%', '45%'],
        cursor: 'pointer',
        label: narrow ? { show: false } : { formatter: '{b}: {c}', color: '#111827' },
        labelLine: { show: !narrow },
        data: rows.map((r) => ({ name: r.label, value: r.value, to: r.to })),
      },
    ],
  };
}

export function Overview() {
  const filters = useFilters();
  const q = apiFilters(filters);
  const blockedQuery = blockedFilters(q);
  const byReason = useEndStats('reasonCode', q);
  const blocked = useBlockedStats('guard', blockedQuery);
  const byModel = useEndStats('modelId', q);
  const byInitiator = useEndStats('initiator', q);
  const byReview = useEndStats('reviewOutcome', q);
  const list = (path: string, extra: Filters & Record<string, string>) => {
    const { guard, ...more } = extra;
    return path + queryOf({ ...filters, ...more }, { guard });
  };

  return (
    <section className="overview">
      <h1>Overview</h1>
      <div className="charts">
        <EndsPerDay stats={byReason} list={list} />
        <Grouped
          name="blocked-by-guard"
          caption={
            blocked.data
              ? `Blocked end attempts by failed guard (${blocked.data.total} attempts)`
              : 'Blocked end attempts by failed guard'
          }
          keyHeader="Guard"
          query={blocked}
          rows={(d: { items: { key: string; count: number }[]; total: number }) =>
            d.items.map((i) => ({ key: i.key, label: i.key, value: i.count, to: list('/blocked', { guard: i.key }) }))
          }
          chart={(rows) => barOption(rows)}
          empty="No blocked attempts in this range."
        />
        <EndsBy group="modelId" stats={byModel} list={list} />
        <EndsBy group="initiator" stats={byInitiator} list={list} />
        <EndsBy group="reviewOutcome" stats={byReview} list={list} />
      </div>
    </section>
  );
}

type ListOf = (path: string, extra: Filters & Record<string, string>) => string;
type Query<T> = { data?: T; isPending: boolean; error: unknown };

function Grouped<T>(props: {
  name: string;
  caption: string;
  keyHeader: string;
  query: Query<T>;
  rows: (data: T) => ChartRow[];
  chart: (rows: ChartRow[], width: number) => ChartOption;
  empty: string;
  extraHeader?: string;
}) {
  const { query } = props;
  const rows = useMemo(() => (query.data ? props.rows(query.data) : []), [query.data]);
  const option = useMemo<ChartOptionAt>(() => (width) => props.chart(rows, width), [rows]);
  if (query.error) {
    return (
      <figure className="chart-figure" data-testid={`chart-${props.name}`}>
        <figcaption>{props.caption}</figcaption>
        <ErrorState error={query.error} what="this chart" />
      </figure>
    );
  }
  if (query.isPending) {
    return (
      <figure className="chart-figure" data-testid={`chart-${props.name}`}>
        <figcaption>{props.caption}</figcaption>
        <Loading what="the numbers" />
      </figure>
    );
  }
  return (
    <ChartFigure
      name={props.name}
      caption={props.caption}
      option={option}
      rows={rows}
      keyHeader={props.keyHeader}
      extraHeader={props.extraHeader}
      onPick={(to) => navigate(to)}
      empty={props.empty}
    />
  );
}

const GROUPS: Record<
  Exclude<EndStatsGroup, 'reasonCode'>,
  { name: string; caption: string; header: string; pie: boolean }
> = {
  modelId: { name: 'ends-by-model', caption: 'Ends by model', header: 'Model', pie: false },
  initiator: {
    name: 'ends-by-initiator',
    caption: 'Ends by initiator (a user-requested end is a model end with reason USER_REQUESTED)',
    header: 'Initiator',
    pie: true,
  },
  reviewOutcome: { name: 'review-outcomes', caption: 'Review outcomes of the ends', header: 'Outcome', pie: true },
};

function EndsBy({
  group,
  stats,
  list,
}: {
  group: keyof typeof GROUPS;
  stats: Query<{ buckets: StatsBucket[] }>;
  list: ListOf;
}) {
  const g = GROUPS[group];
  return (
    <Grouped
      name={g.name}
      caption={g.caption}
      keyHeader={g.header}
      query={stats}
      rows={(d: { buckets: StatsBucket[] }) =>
        sumCounts(d.buckets)
          .filter(([, v]) => v > 0)
          .map(([key, value]) => ({
            key,
            label: group === 'reviewOutcome' ? (REVIEW_LABEL[key] ?? key) : key,
            value,
            to: list('/ends', { [group]: key }),
          }))
      }
      chart={(rows, width) => (g.pie ? pieOption(rows, width) : barOption(rows))}
      empty="No ends in this range."
    />
  );
}

function EndsPerDay({ stats, list }: { stats: Query<{ buckets: StatsBucket[] }>; list: ListOf }) {
  return (
    <Grouped
      name="ends-per-day"
      caption="Ends per day by reason code, and ends per 1,000 conversations started"
      keyHeader="Day | reason code"
      extraHeader="Per 1,000 started (day)"
      query={stats}
      rows={(d: { buckets: StatsBucket[] }) =>
        d.buckets.flatMap((b) =>
          Object.entries(b.counts)
            .filter(([, v]) => v > 0)
            .sort((x, y) => x[0].localeCompare(y[0]))
            .map(([code, value]) => ({
              key: `${b.start}|${code}`,
              label: `${b.start} · ${code}`,
              value,
              to: list('/ends', { from: b.start, to: b.start, reasonCode: code }),
              extra: b.ratePer1000 === null ? '—' : b.ratePer1000.toFixed(1),
            })),
        )
      }
      chart={(_rows, width) => perDayOption(stats.data?.buckets ?? [], list, width)}
      empty="No ends in this range."
    />
  );
}

/** How many lines a plain legend of these names takes at this width (item: symbol, gap, text). */
function legendLines(names: string[], width: number): number {
  let lines = 1;
  let x = 0;
  for (const name of names) {
    const item = 25 + 5 + textWidth(name) + 10;
    if (x > 0 && x + item > width - 10) {
      lines++;
      x = 0;
    }
    x += item;
  }
  return lines;
}

function perDayOption(buckets: StatsBucket[], list: ListOf, width: number): ChartOption {
  const days = buckets.map((b) => b.start);
  const codes = [...new Set(buckets.flatMap((b) => Object.keys(b.counts)))].sort();
  // Every reason code in the legend (no scrolling legend that hides some): as many lines as needed.
  const lines = legendLines([...codes, 'per 1,000 started'], width);
  return {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { bottom: 0, left: 0, textStyle: axisText, itemGap: 10 },
    grid: { left: 8, right: 8, top: 28, bottom: 16 + lines * 22, containLabel: true },
    xAxis: { type: 'category', data: days, axisLabel: axisText },
    yAxis: [
      { type: 'value', name: 'ends', minInterval: 1, axisLabel: axisText, nameTextStyle: axisText },
      { type: 'value', name: 'per 1,000', axisLabel: axisText, nameTextStyle: axisText, splitLine: { show: false } },
    ],
    series: [
      ...codes.map((code) => ({
        type: 'bar' as const,
        name: code,
        stack: 'ends',
        cursor: 'pointer',
        data: buckets.map((b) => ({
          value: b.counts[code] ?? 0,
          to: list('/ends', { from: b.start, to: b.start, reasonCode: code }),
        })),
      })),
      {
        type: 'line' as const,
        name: 'per 1,000 started',
        yAxisIndex: 1,
        color: '#111827',
        symbolSize: 6,
        data: buckets.map((b) => b.ratePer1000),
      },
    ],
  };
}
