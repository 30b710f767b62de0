// Apache ECharts, tree-shaken, with the SVG renderer (labels are text in the DOM, crisp at any zoom).
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { init, use, type ComposeOption, type ECharts } from 'echarts/core';
import type { BarSeriesOption, LineSeriesOption, PieSeriesOption } from 'echarts/charts';
import type { GridComponentOption, LegendComponentOption, TooltipComponentOption } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { useEffect, useRef, useState } from 'react';
import { Link } from '../router';

use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

export type ChartOption = ComposeOption<
  | BarSeriesOption
  | LineSeriesOption
  | PieSeriesOption
  | GridComponentOption
  | LegendComponentOption
  | TooltipComponentOption
>;

/** Colours with at least 3:1 contrast on white (non-text graphics, WCAG 1.4.11), told apart by hue. */
export const PALETTE = [
  '#1f5fae',
  '#c2410c',
  '#047857',
  '#7e22ce',
  '#b91c1c',
  '#0e7490',
  '#a16207',
  '#be185d',
  '#4b5563',
];

/** A chart's option for the width it is drawn at (labels and legends are laid out for narrow screens). */
export type ChartOptionAt = (width: number) => ChartOption;

function Echart({ option, onPick }: { option: ChartOptionAt; onPick: (data: unknown) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<ECharts | null>(null);
  const pick = useRef(onPick);
  pick.current = onPick;
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const instance = init(box.current!, undefined, { renderer: 'svg' });
    chart.current = instance;
    instance.on('click', (params) => pick.current(params.data));
    setWidth(box.current!.clientWidth);
    const observer = new ResizeObserver(() => {
      instance.resize();
      if (box.current) setWidth(box.current.clientWidth);
    });
    observer.observe(box.current!);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    if (width === 0) return;
    chart.current?.setOption({ color: PALETTE, textStyle: { color: '#1f2937' }, ...option(width) }, true);
  }, [option, width]);
  return <div className="chart" ref={box} aria-hidden="true" />;
}

export interface ChartRow {
  key: string;
  label: string;
  value: number;
  /** The filtered list this bar or slice opens. */
  to: string;
  /** Extra cells of the table (e.g. the day's rate). */
  extra?: React.ReactNode;
}

/**
 * A chart with its numbers: the figure holds the ECharts drawing and a table of every bar or slice
 * (in the DOM, readable by people and screen readers), each row a link into the filtered list.
 */
export function ChartFigure(props: {
  name: string;
  caption: string;
  option: ChartOptionAt;
  rows: ChartRow[];
  keyHeader: string;
  extraHeader?: string;
  onPick: (to: string) => void;
  empty?: string;
}) {
  const { name, caption, option, rows, keyHeader, extraHeader, onPick } = props;
  return (
    <figure className="chart-figure" data-testid={`chart-${name}`}>
      <figcaption>{caption}</figcaption>
      {rows.length === 0 ? (
        <p className="state state-empty">{props.empty ?? 'Nothing in this range.'}</p>
      ) : (
        <Echart
          option={option}
          onPick={(data) => {
            const to = (data as { to?: string } | null)?.to;
            if (to) onPick(to);
          }}
        />
      )}
      <div className="chart-numbers table-scroll" tabIndex={0} role="region" aria-label={`${caption}: the numbers`}>
        <table>
          <caption className="visually-hidden">{caption}: the numbers</caption>
          <thead>
            <tr>
              <th scope="col">{keyHeader}</th>
              <th scope="col" className="num">
                Count
              </th>
              {extraHeader && (
                <th scope="col" className="num">
                  {extraHeader}
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.key} data-testid="chart-row" data-key={row.key} data-value={row.value}>
                <th scope="row">
                  <Link to={row.to}>{row.label}</Link>
                </th>
                <td className="num">{row.value}</td>
                {extraHeader && <td className="num">{row.extra}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
