// Time-series charts with uPlot: a full chart (axes, legend, drag to zoom)
// and a sparkline. Data come from a Prometheus matrix.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { PromSeries } from './api';
import { useTheme } from './theme';

const PALETTE = ['#3b82f6', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16', '#f97316', '#6366f1'];

export function seriesLabel(m: Record<string, string>): string {
  const name = m.__name__ ?? '';
  const labels = Object.entries(m).filter(([k]) => k !== '__name__').map(([k, v]) => `${k}="${v}"`).join(', ');
  return labels ? `${name}{${labels}}` : name || '{}';
}

// Aligns the series of a matrix on one time axis (the grid of the query's
// start and step), with null where a series has no point.
export function toAligned(series: PromSeries[], start: number, end: number, step: number): uPlot.AlignedData {
  const n = Math.floor((end - start) / step) + 1;
  const xs = new Array<number>(n);
  for (let i = 0; i < n; i++) xs[i] = start + i * step;
  const out: (number | null)[][] = [];
  for (const s of series) {
    const ys = new Array<number | null>(n).fill(null);
    for (const [t, v] of s.values ?? []) {
      const i = Math.round((t - start) / step);
      if (i >= 0 && i < n) {
        const f = parseFloat(v);
        ys[i] = Number.isFinite(f) ? f : null;
      }
    }
    out.push(ys);
  }
  return [xs, ...out] as uPlot.AlignedData;
}

// fmtAxis writes an axis value compactly (SI prefixes), so large values such
// as byte counts fit the axis.
export function fmtAxis(v: number): string {
  const a = Math.abs(v);
  for (const [f, p] of [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as [number, string][]) {
    if (a >= f) return `${+(v / f).toFixed(2)}${p}`;
  }
  return a !== 0 && a < 0.01 ? v.toExponential(1) : String(+v.toFixed(3));
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export interface ChartProps {
  series: PromSeries[];
  start: number;
  end: number;
  step: number;
  height?: number;
  // Called with the selected range (Unix seconds) when the user drags across the chart.
  onZoom?: (from: number, to: number) => void;
  label?: string;
  // stacked draws each series on top of the ones before it, filled; the
  // legend shows each series' own value.
  stacked?: boolean;
}

// stack turns aligned data into running sums (a missing point counts as 0
// where another series has one at that time).
function stack(data: uPlot.AlignedData): uPlot.AlignedData {
  const xs = Array.from(data[0] as ArrayLike<number>);
  const ys = data.slice(1).map((y) => Array.from(y as ArrayLike<number | null | undefined>));
  const acc = new Array<number>(xs.length).fill(0);
  const any = xs.map((_, i) => ys.some((y) => y[i] != null));
  const out = ys.map((y) => y.map((v, i) => (any[i] ? (acc[i] += v ?? 0) : null)));
  return [xs, ...out] as uPlot.AlignedData;
}

export function Chart({ series, start, end, step, height = 280, onZoom, label, stacked }: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const theme = useTheme();
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;

  useEffect(() => {
    const box = el.current;
    if (!box) return;
    const fg = cssVar('--fg-muted', '#666');
    const grid = cssVar('--grid', '#ddd');
    const axis: uPlot.Axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const raw = toAligned(series, start, end, step);
    const data = stacked ? stack(raw) : raw;
    const opts: uPlot.Options = {
      width: Math.max(200, box.clientWidth),
      height,
      cursor: { drag: { x: true, y: false, setScale: false } },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      legend: { show: series.length <= 12, live: true },
      scales: { x: { time: true, min: start, max: end } },
      bands: stacked ? series.slice(1).map((_, i) => ({ series: [i + 2, i + 1] as [number, number] })) : undefined,
      axes: [axis, { ...axis, size: 60, values: (_u: uPlot, splits: number[]) => splits.map(fmtAxis) }],
      series: [
        {},
        ...series.map((s, i) => ({
          label: seriesLabel(s.metric),
          stroke: PALETTE[i % PALETTE.length],
          ...(stacked ? {
            fill: PALETTE[i % PALETTE.length] + '55',
            value: (_u: uPlot, _v: number | null, si: number, idx: number | null) => {
              const r = idx == null ? null : (raw[si] as (number | null)[])[idx];
              return r == null ? '--' : fmtAxis(r);
            },
          } : {}),
          width: 1.5,
          spanGaps: false,
          // Points show when the series is sparse (uPlot's default rule), so a
          // check that has run a few times is visible.
        })),
      ],
      hooks: {
        setSelect: [
          (u: uPlot) => {
            if (u.select.width < 5) return;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoomRef.current?.(Math.floor(from), Math.ceil(to));
          },
        ],
      },
    };
    const u = new uPlot(opts, data, box);
    const ro = new ResizeObserver(() => {
      const w = Math.max(200, box.clientWidth);
      if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height });
    });
    ro.observe(box);
    return () => {
      ro.disconnect();
      u.destroy();
    };
  }, [series, start, end, step, height, theme, stacked]);

  return <div class="chart" ref={el} role="img" aria-label={label ?? 'chart'} />;
}

export function Sparkline({ series, start, end, step, width = 140, height = 32 }: { series: PromSeries[]; start: number; end: number; step: number; width?: number; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  const theme = useTheme();
  useEffect(() => {
    const box = el.current;
    if (!box) return;
    const u = new uPlot(
      {
        width, height,
        cursor: { show: false },
        legend: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        scales: { x: { time: true, min: start, max: end } },
        axes: [{ show: false }, { show: false }],
        series: [{}, ...series.map(() => ({ stroke: cssVar('--accent', '#3b82f6'), width: 1.25, points: { size: 3 } }))],
      },
      toAligned(series, start, end, step),
      box,
    );
    return () => u.destroy();
  }, [series, start, end, step, width, height, theme]);
  return <div class="sparkline" ref={el} aria-hidden="true" />;
}

// StateTimeline draws prophasis_state over [start, end] as coloured bands,
// one row per series; each band's title says the state and its span.
export function StateTimeline({ series, start, end, step }: { series: PromSeries[]; start: number; end: number; step: number }) {
  const span = end - start || 1;
  const names = ['ok', 'minor', 'major', 'critical'];
  return (
    <div class="timeline" aria-label="state timeline">
      {series.length === 0 && <div class="muted small">no state recorded in this range</div>}
      {series.map((s, row) => {
        const bands: { from: number; to: number; state: string }[] = [];
        for (const [t, v] of s.values ?? []) {
          const n = Math.round(parseFloat(v));
          const state = names[n] ?? 'unknown';
          const last = bands[bands.length - 1];
          if (last && last.state === state && t - last.to <= step * 1.5) last.to = t + step;
          else bands.push({ from: t, to: t + step, state });
        }
        return (
          <div class="timeline-row" key={row} title={series.length > 1 ? seriesLabel(s.metric) : undefined}>
            {bands.map((b, i) => (
              <span
                key={i}
                class={`band st-${b.state}`}
                style={{ left: `${((b.from - start) / span) * 100}%`, width: `${(Math.max(b.to - b.from, step) / span) * 100}%` }}
                title={`${b.state}: ${new Date(b.from * 1000).toLocaleString()} – ${new Date(Math.min(b.to, end) * 1000).toLocaleString()}`}
              />
            ))}
          </div>
        );
      })}
    </div>
  );
}
