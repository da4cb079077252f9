// The geometry of the statistics pictures, kept apart from SVG so it can be tested:
// the review heatmap, the forecast bars, the retention gauges and the card-state bar.

export interface DayCount {
  date: string; // YYYY-MM-DD, the learner's study day
  count: number;
}

const DAY_MS = 86_400_000;

export function dayNumber(date: string): number {
  const [year, month, day] = date.split('-').map(Number);
  return Math.floor(Date.UTC(year ?? 1970, (month ?? 1) - 1, day ?? 1) / DAY_MS);
}

export function dateOf(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export interface HeatCell {
  date: string;
  count: number;
  week: number; // column, oldest first
  weekday: number; // row, 0 = Monday
  level: 0 | 1 | 2 | 3 | 4;
}

/** One cell per day of the `days` ending on `today`, laid out in week columns
 * (Monday on top), shaded in four levels relative to the busiest day. */
export function heatmapCells(
  reviews: readonly DayCount[],
  today: string,
  days: number,
): { cells: HeatCell[]; weeks: number } {
  const counts = new Map(reviews.map((entry) => [entry.date, entry.count]));
  const last = dayNumber(today);
  const first = last - days + 1;
  const firstWeekday = (first + 3) % 7; // day 0 (1970-01-01) was a Thursday
  const max = Math.max(0, ...reviews.filter((entry) => dayNumber(entry.date) >= first).map((entry) => entry.count));
  const cells: HeatCell[] = [];
  for (let day = first; day <= last; day++) {
    const count = counts.get(dateOf(day)) ?? 0;
    const offset = day - first + firstWeekday;
    const level = count === 0 || max === 0 ? 0 : (Math.min(4, Math.ceil((count / max) * 4)) as HeatCell['level']);
    cells.push({ date: dateOf(day), count, week: Math.floor(offset / 7), weekday: offset % 7, level });
  }
  return { cells, weeks: Math.floor((days - 1 + firstWeekday) / 7) + 1 };
}

export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Bars side by side in a `width` x `height` box, scaled to the largest value. */
export function barLayout(values: readonly number[], width: number, height: number, gap = 2): Bar[] {
  const max = Math.max(1, ...values);
  const slot = values.length > 0 ? width / values.length : width;
  return values.map((value, index) => {
    const barHeight = (Math.max(0, value) / max) * height;
    return { x: index * slot + gap / 2, y: height - barHeight, width: Math.max(1, slot - gap), height: barHeight };
  });
}

export interface Segment {
  key: string;
  value: number;
  x: number;
  width: number;
}

/** Parts of a whole as consecutive segments of one bar `width` long (empty parts dropped). */
export function stackedSegments(parts: readonly { key: string; value: number }[], width: number): Segment[] {
  const total = parts.reduce((sum, part) => sum + Math.max(0, part.value), 0);
  if (total === 0) return [];
  let x = 0;
  return parts
    .filter((part) => part.value > 0)
    .map((part) => {
      const segment = { key: part.key, value: part.value, x, width: (part.value / total) * width };
      x += segment.width;
      return segment;
    });
}

export function percent(rate: number | null): string {
  return rate === null ? '—' : `${Math.round(rate * 1000) / 10}%`;
}
