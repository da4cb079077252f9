import { expect, test } from 'vitest';

import { barLayout, dateOf, dayNumber, heatmapCells, percent, stackedSegments } from './charts';

test('test_it_round_trips_dates_and_day_numbers', () => {
  expect(dayNumber('1970-01-02')).toBe(1);
  expect(dateOf(dayNumber('2026-11-23'))).toBe('2026-11-23');
  expect(dayNumber('2024-03-01') - dayNumber('2024-02-28')).toBe(2);
});

test('test_it_lays_the_heatmap_out_in_monday_first_week_columns', () => {
  // 2026-11-23 is a Monday; 9 days end on Tuesday 2026-12-01.
  const { cells, weeks } = heatmapCells([{ date: '2026-11-25', count: 3 }], '2026-12-01', 9);
  expect(cells).toHaveLength(9);
  expect(cells[0]).toEqual({ date: '2026-11-23', count: 0, week: 0, weekday: 0, level: 0 });
  expect(cells[2]).toMatchObject({ date: '2026-11-25', count: 3, week: 0, weekday: 2, level: 4 });
  expect(cells[8]).toMatchObject({ date: '2026-12-01', week: 1, weekday: 1 });
  expect(weeks).toBe(2);
});

test('test_it_shades_days_relative_to_the_busiest_day_in_view', () => {
  const reviews = [
    { date: '2026-11-20', count: 100 },
    { date: '2026-11-30', count: 8 },
    { date: '2026-11-29', count: 1 },
    { date: '2026-11-28', count: 5 },
  ];
  const { cells } = heatmapCells(reviews, '2026-11-30', 3);
  expect(cells.map((cell) => [cell.date, cell.level])).toEqual([
    ['2026-11-28', 3],
    ['2026-11-29', 1],
    ['2026-11-30', 4],
  ]);
});

test('test_it_scales_bars_to_the_largest_value', () => {
  const bars = barLayout([0, 5, 10], 30, 100, 2);
  expect(bars.map((bar) => bar.height)).toEqual([0, 50, 100]);
  expect(bars.map((bar) => bar.y)).toEqual([100, 50, 0]);
  expect(bars.map((bar) => bar.x)).toEqual([1, 11, 21]);
  expect(barLayout([0, 0], 10, 10).every((bar) => bar.height === 0)).toBe(true);
});

test('test_it_splits_a_bar_into_proportional_segments_without_empty_ones', () => {
  const segments = stackedSegments(
    [
      { key: 'new', value: 30 },
      { key: 'learning', value: 0 },
      { key: 'young', value: 10 },
    ],
    200,
  );
  expect(segments).toEqual([
    { key: 'new', value: 30, x: 0, width: 150 },
    { key: 'young', value: 10, x: 150, width: 50 },
  ]);
  expect(stackedSegments([{ key: 'new', value: 0 }], 200)).toEqual([]);
});

test('test_it_shows_rates_as_percentages_and_no_rate_as_a_dash', () => {
  expect(percent(0.8333)).toBe('83.3%');
  expect(percent(1)).toBe('100%');
  expect(percent(null)).toBe('—');
});
