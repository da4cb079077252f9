// Statistics as pictures: the review heatmap, the 30-day forecast, retention, and the
// cards by state, for the whole collection or one deck.

import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { api, type CardCounts, type Retention, type Stats } from '../api';
import { flattenDecks, useDeckTree } from '../decks';
import { ErrorBanner, Loading } from '../components/Feedback';
import { barLayout, heatmapCells, percent, stackedSegments } from '../stats/charts';

export function StatsScreen() {
  const tree = useDeckTree();
  const [deckId, setDeckId] = useState<number | undefined>(undefined);
  const [days, setDays] = useState(365);
  const stats = useQuery({
    queryKey: ['stats', deckId ?? 'all', days],
    queryFn: () => api.stats.get(deckId, days),
    staleTime: 0,
  });
  return (
    <div className="stack">
      <h1>Statistics</h1>
      <div className="row">
        <label>
          Deck{' '}
          <select value={deckId ?? ''} onChange={(e) => setDeckId(e.target.value ? Number(e.target.value) : undefined)}>
            <option value="">Whole collection</option>
            {flattenDecks(tree.data?.decks ?? []).map((deck) => (
              <option key={deck.id} value={deck.id}>
                {deck.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Period{' '}
          <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
            <option value={30}>1 month</option>
            <option value={90}>3 months</option>
            <option value={365}>1 year</option>
          </select>
        </label>
      </div>
      {stats.isPending && <Loading what="statistics" />}
      <ErrorBanner error={stats.error} onRetry={() => void stats.refetch()} />
      {stats.data && <StatsPictures stats={stats.data} />}
    </div>
  );
}

function StatsPictures({ stats }: { stats: Stats }) {
  const today = stats.forecast[0]?.date ?? new Date().toISOString().slice(0, 10);
  return (
    <div className="stats-grid">
      <section className="panel" aria-labelledby="today-title">
        <h2 id="today-title">Today</h2>
        <p className="big" data-testid="today-reviews">
          {stats.today.reviews === 1 ? '1 review' : `${stats.today.reviews} reviews`}
        </p>
        <p className="hint">
          {Math.round(stats.today.timeMs / 60000)} min studied · streak {stats.streak}{' '}
          {stats.streak === 1 ? 'day' : 'days'}
        </p>
      </section>
      <section className="panel wide" aria-labelledby="heatmap-title">
        <h2 id="heatmap-title">Reviews per day</h2>
        <Heatmap reviews={stats.reviewsPerDay} today={today} days={stats.days} />
      </section>
      <section className="panel wide" aria-labelledby="forecast-title">
        <h2 id="forecast-title">Due in the next 30 days</h2>
        <Forecast forecast={stats.forecast} />
      </section>
      <section className="panel" aria-labelledby="retention-title">
        <h2 id="retention-title">Retention, last 30 days</h2>
        <RetentionGauge label="Young" retention={stats.retention.young} />
        <RetentionGauge label="Mature" retention={stats.retention.mature} />
      </section>
      <section className="panel wide" aria-labelledby="states-title">
        <h2 id="states-title">Cards by state</h2>
        <StateBar counts={stats.cardCounts} />
      </section>
    </div>
  );
}

const CELL = 11;

function Heatmap({ reviews, today, days }: { reviews: Stats['reviewsPerDay']; today: string; days: number }) {
  const { cells, weeks } = heatmapCells(reviews, today, days);
  const total = cells.reduce((sum, cell) => sum + cell.count, 0);
  const active = cells.filter((cell) => cell.count > 0).length;
  const summary = `${total} reviews on ${active} of the last ${days} days`;
  return (
    <figure>
      <div className="scroll-x">
        <svg
          className="heatmap"
          role="img"
          aria-label={summary}
          width={weeks * CELL}
          height={7 * CELL}
          viewBox={`0 0 ${weeks * CELL} ${7 * CELL}`}
        >
          {cells.map((cell) => (
            <rect
              key={cell.date}
              className={`heat heat-${cell.level}`}
              data-count={cell.count}
              x={cell.week * CELL}
              y={cell.weekday * CELL}
              width={CELL - 2}
              height={CELL - 2}
              rx={2}
            >
              <title>{`${cell.date}: ${cell.count} review${cell.count === 1 ? '' : 's'}`}</title>
            </rect>
          ))}
        </svg>
      </div>
      <figcaption className="hint">{summary}</figcaption>
    </figure>
  );
}

function Forecast({ forecast }: { forecast: Stats['forecast'] }) {
  const width = 600;
  const height = 120;
  const bars = barLayout(
    forecast.map((day) => day.count),
    width,
    height,
  );
  const total = forecast.reduce((sum, day) => sum + day.count, 0);
  const busiest = Math.max(0, ...forecast.map((day) => day.count));
  return (
    <figure>
      <svg
        className="forecast"
        role="img"
        aria-label={`${total} cards due in the next 30 days`}
        viewBox={`0 0 ${width} ${height + 16}`}
      >
        <line className="baseline" x1={0} x2={width} y1={height} y2={height} />
        {bars.map((bar, index) => (
          <rect key={forecast[index]?.date} className="bar" x={bar.x} y={bar.y} width={bar.width} height={bar.height}>
            <title>{`${forecast[index]?.date}: ${forecast[index]?.count} due`}</title>
          </rect>
        ))}
        {[0, 7, 14, 21, 28].map((index) => {
          const bar = bars[index];
          return bar ? (
            <text
              key={index}
              className="axis"
              x={index === 0 ? bar.x : bar.x + bar.width / 2}
              y={height + 13}
              textAnchor={index === 0 ? 'start' : 'middle'}
            >
              {index === 0 ? 'today' : `+${index}d`}
            </text>
          ) : null;
        })}
      </svg>
      <figcaption className="hint">
        {total} cards due in the next 30 days{busiest > 0 && `, at most ${busiest} on one day`} (overdue cards count for
        today)
      </figcaption>
    </figure>
  );
}

function RetentionGauge({ label, retention }: { label: string; retention: Retention }) {
  const width = 200;
  const filled = retention.rate === null ? 0 : retention.rate * width;
  return (
    <figure className="gauge">
      <figcaption>
        {label}: <strong>{percent(retention.rate)}</strong>{' '}
        <span className="hint">
          ({retention.passed} of {retention.total} passed)
        </span>
      </figcaption>
      <svg
        role="img"
        aria-label={`${label} retention ${percent(retention.rate)}`}
        viewBox={`0 0 ${width} 12`}
        preserveAspectRatio="none"
        width="100%"
        height="12"
      >
        <rect className="gauge-track" x={0} y={0} width={width} height={12} rx={6} />
        <rect className="gauge-fill" x={0} y={0} width={filled} height={12} rx={6} />
      </svg>
    </figure>
  );
}

const STATES: { key: keyof CardCounts; label: string }[] = [
  { key: 'new', label: 'New' },
  { key: 'learning', label: 'Learning' },
  { key: 'relearning', label: 'Relearning' },
  { key: 'young', label: 'Young' },
  { key: 'mature', label: 'Mature' },
  { key: 'suspended', label: 'Suspended' },
  { key: 'buried', label: 'Buried' },
];

function StateBar({ counts }: { counts: CardCounts }) {
  const width = 300;
  const segments = stackedSegments(
    STATES.map((state) => ({ key: state.key, value: counts[state.key] })),
    width,
  );
  return (
    <figure>
      <svg
        className="states"
        role="img"
        aria-label={`${counts.total} cards by state`}
        viewBox={`0 0 ${width} 24`}
        preserveAspectRatio="none"
        width="100%"
        height="24"
      >
        {segments.map((segment) => (
          <rect
            key={segment.key}
            className={`state-${segment.key}`}
            x={segment.x}
            y={0}
            width={segment.width}
            height={24}
          >
            <title>{`${segment.key}: ${segment.value}`}</title>
          </rect>
        ))}
      </svg>
      <ul className="legend">
        {STATES.map((state) => (
          <li key={state.key} data-state={state.key}>
            <span className={`swatch state-${state.key}`} aria-hidden="true" /> {state.label} {counts[state.key]}
          </li>
        ))}
      </ul>
      <figcaption className="hint">
        {counts.total} cards in all; {counts.dueToday} due today
      </figcaption>
    </figure>
  );
}
