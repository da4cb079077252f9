// Search the collection with the API's query syntax and act on the cards found:
// edit their note, suspend / unsuspend, forget, move to another deck, delete.

import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';

import { api, type Card, type CardAction } from '../api';
import { flattenDecks, useDeckTree } from '../decks';
import { plainText } from '../components/CardHtml';
import { ErrorBanner, Loading, fieldError } from '../components/Feedback';
import { cardState, isSuspended } from '../notes';

const PER_PAGE = 25;

export function BrowseScreen() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const page = Math.max(1, Number(params.get('page') ?? '1') || 1);
  const [draft, setDraft] = useState(q);
  useEffect(() => setDraft(q), [q]);
  const cards = useQuery({
    queryKey: ['cards', q, page],
    queryFn: () => api.cards.search(q, page, PER_PAGE),
    placeholderData: keepPreviousData,
  });
  const search = (event: FormEvent) => {
    event.preventDefault();
    setParams(draft.trim() ? { q: draft.trim() } : {});
  };
  const goTo = (next: number) => setParams({ ...(q ? { q } : {}), page: String(next) });
  const pages = cards.data ? Math.max(1, Math.ceil(cards.data.total / PER_PAGE)) : 1;
  return (
    <div className="stack">
      <div className="row spread">
        <h1>Browse</h1>
        <Link className="button" to="/notes/new">
          Add note
        </Link>
      </div>
      <form className="search" role="search" onSubmit={search}>
        <input
          type="search"
          name="q"
          aria-label="Search cards"
          aria-invalid={Boolean(fieldError(cards.error, 'q'))}
          placeholder='e.g. deck:"Spanish" tag:verbs is:due -house'
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <button type="submit">Search</button>
      </form>
      <details className="hint">
        <summary>Search syntax</summary>
        <p>
          Words match the note’s text, all must match; <code>"two words"</code> as one phrase; <code>-word</code>{' '}
          excludes. <code>tag:verbs</code> (and its <code>verbs::…</code> children), <code>deck:"My deck"</code> (with
          subdecks), <code>deck:current</code>, <code>is:new</code> <code>is:learn</code> <code>is:review</code>{' '}
          <code>is:due</code> <code>is:suspended</code> <code>is:buried</code>, <code>note:Cloze</code>,{' '}
          <code>flag:1</code>; <code>*</code> matches anything.
        </p>
      </details>
      {cards.isPending && <Loading what="cards" />}
      <ErrorBanner error={cards.error} onRetry={() => void cards.refetch()} />
      {cards.data && (
        <>
          <p className="hint" aria-live="polite">
            {cards.data.total === 1 ? '1 card' : `${cards.data.total} cards`}
            {cards.data.total > PER_PAGE && ` · page ${page} of ${pages}`}
          </p>
          <ul className="card-list">
            {cards.data.results.map((card) => (
              <CardRow key={card.id} card={card} />
            ))}
          </ul>
          {pages > 1 && (
            <nav className="row pager" aria-label="Pages">
              <button type="button" className="secondary" disabled={page <= 1} onClick={() => goTo(page - 1)}>
                ← Previous
              </button>
              <span>
                {page} / {pages}
              </span>
              <button type="button" className="secondary" disabled={page >= pages} onClick={() => goTo(page + 1)}>
                Next →
              </button>
            </nav>
          )}
        </>
      )}
    </div>
  );
}

type Pane = 'none' | 'move' | 'delete';

function CardRow({ card }: { card: Card }) {
  const queryClient = useQueryClient();
  const [pane, setPane] = useState<Pane>('none');
  const refresh = () => queryClient.invalidateQueries();
  // A late answer closes only its own pane, not one the learner has opened since.
  const finish = (which: Pane) => async () => {
    setPane((current) => (current === which ? 'none' : current));
    await refresh();
  };
  const act = useMutation({
    mutationFn: (action: CardAction) => api.cards.act(card.id, action),
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: () => api.cards.remove(card.id), onSuccess: finish('delete') });
  const suspended = isSuspended(card);
  return (
    <li className={suspended ? 'card-row suspended' : 'card-row'} data-card={card.id}>
      <div className="card-main">
        <Link to={`/notes/${card.noteId}`} className="card-text">
          {plainText(card.front) || '(empty)'}
        </Link>
        <span className="card-meta">
          {card.deckName} · {card.template} · {cardState(card)}
          {card.tags.length > 0 && ` · ${card.tags.join(' ')}`}
        </span>
      </div>
      <div className="row card-actions">
        <button
          type="button"
          className="secondary small"
          onClick={() => act.mutate(suspended ? 'unsuspend' : 'suspend')}
          disabled={act.isPending}
        >
          {suspended ? 'Unsuspend' : 'Suspend'}
        </button>
        <button
          type="button"
          className="secondary small"
          onClick={() => act.mutate('forget')}
          disabled={act.isPending || card.type === 0}
        >
          Forget
        </button>
        <button type="button" className="secondary small" onClick={() => setPane(pane === 'move' ? 'none' : 'move')}>
          Move
        </button>
        <button type="button" className="secondary small danger-text" onClick={() => setPane('delete')}>
          Delete
        </button>
      </div>
      <ErrorBanner error={act.error ?? remove.error} />
      {pane === 'move' && <MovePane card={card} onDone={finish('move')} onCancel={() => setPane('none')} />}
      {pane === 'delete' && (
        <div className="confirm" role="alertdialog" aria-label="Delete card">
          <p>Delete this card? If it is its note’s only card, the note goes too.</p>
          <div className="row">
            <button type="button" className="danger" onClick={() => remove.mutate()} disabled={remove.isPending}>
              Delete card
            </button>
            <button type="button" className="secondary" onClick={() => setPane('none')}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </li>
  );
}

function MovePane({ card, onDone, onCancel }: { card: Card; onDone: () => Promise<void>; onCancel: () => void }) {
  const tree = useDeckTree();
  const [deckId, setDeckId] = useState(card.deckId);
  const move = useMutation({ mutationFn: () => api.cards.move(card.id, deckId), onSuccess: onDone });
  return (
    <div className="row move-pane">
      <label>
        Move to{' '}
        <select value={deckId} onChange={(e) => setDeckId(Number(e.target.value))}>
          {flattenDecks(tree.data?.decks ?? []).map((deck) => (
            <option key={deck.id} value={deck.id}>
              {deck.name}
            </option>
          ))}
        </select>
      </label>
      <button
        type="button"
        className="small"
        onClick={() => move.mutate()}
        disabled={move.isPending || deckId === card.deckId}
      >
        Move
      </button>
      <button type="button" className="secondary small" onClick={onCancel}>
        Cancel
      </button>
      <ErrorBanner error={move.error} />
    </div>
  );
}
