import { Link } from 'react-router';

export function NotFoundScreen() {
  return (
    <div className="stack">
      <h1>Not found</h1>
      <p>
        There is nothing at this address. <Link to="/decks">Go to your decks</Link>.
      </p>
    </div>
  );
}
