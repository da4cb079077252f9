// The deck tree with today's new / learning / due counts: study, create, rename,
// delete (after confirming), set as current, and a way to each deck's options.

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';

import { api, type DeckNode } from '../api';
import { DEFAULT_DECK_ID, DECKS_QUERY, useDeckTree, visibleDecks } from '../decks';
import { ErrorBanner, Field, Loading, fieldError } from '../components/Feedback';

export function DecksScreen() {
  const tree = useDeckTree();
  if (tree.isPending) return <Loading what="your decks" />;
  if (tree.isError) return <ErrorBanner error={tree.error} onRetry={() => void tree.refetch()} />;
  const decks = visibleDecks(tree.data.decks);
  return (
    <div className="stack">
      <h1>Decks</h1>
      <CreateDeckForm />
      <table className="deck-tree">
        <thead>
          <tr>
            <th scope="col">Deck</th>
            <th scope="col" className="count new">
              New
            </th>
            <th scope="col" className="count learn">
              Learn
            </th>
            <th scope="col" className="count due">
              Due
            </th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {decks.map((deck) => (
            <DeckRows key={deck.id} deck={deck} depth={0} currentId={tree.data.currentDeckId} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CreateDeckForm() {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () => api.decks.create(name),
    onSuccess: () => {
      setName('');
      return queryClient.invalidateQueries({ queryKey: DECKS_QUERY });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form className="panel inline-form" onSubmit={submit} noValidate>
      <ErrorBanner error={create.error} shownFields={['name']} />
      <Field
        label="New deck"
        hint="Use :: for a subdeck, e.g. Spanish::Verbs"
        error={fieldError(create.error, 'name')}
        render={(props) => <input {...props} name="deckName" value={name} onChange={(e) => setName(e.target.value)} />}
      />
      <button type="submit" disabled={create.isPending || !name.trim()}>
        Create deck
      </button>
    </form>
  );
}

function DeckRows({ deck, depth, currentId }: { deck: DeckNode; depth: number; currentId: number }) {
  // Open by default: a learner looking at the list wants to see every deck's counts.
  const [open, setOpen] = useState(true);
  return (
    <>
      <DeckRow deck={deck} depth={depth} current={deck.id === currentId} open={open} onToggle={() => setOpen(!open)} />
      {open &&
        deck.children.map((child) => <DeckRows key={child.id} deck={child} depth={depth + 1} currentId={currentId} />)}
    </>
  );
}

type Mode = 'view' | 'rename' | 'delete';

function DeckRow(props: { deck: DeckNode; depth: number; current: boolean; open: boolean; onToggle: () => void }) {
  const { deck, depth, current, open, onToggle } = props;
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [mode, setMode] = useState<Mode>('view');
  const menu = useRef<HTMLDetailsElement>(null);
  const choose = (next: Mode) => {
    menu.current?.removeAttribute('open');
    setMode(next);
  };
  const refresh = () => queryClient.invalidateQueries({ queryKey: DECKS_QUERY });
  const study = useMutation({
    mutationFn: () => api.decks.setCurrent(deck.id),
    onSuccess: async () => {
      await refresh();
      navigate(`/study?deck=${deck.id}`);
    },
  });
  const makeCurrent = useMutation({ mutationFn: () => api.decks.setCurrent(deck.id), onSuccess: refresh });
  return (
    <>
      <tr className={current ? 'deck current' : 'deck'} data-deck={deck.name}>
        <th scope="row" style={{ paddingLeft: `${0.5 + depth * 1.25}rem` }}>
          {deck.children.length > 0 ? (
            <button
              type="button"
              className="toggle"
              aria-expanded={open}
              aria-label={open ? 'Collapse' : 'Expand'}
              onClick={onToggle}
            >
              {open ? '▾' : '▸'}
            </button>
          ) : (
            <span className="toggle-space" />
          )}
          <button type="button" className="link deck-name" onClick={() => study.mutate()} title="Study this deck">
            {deck.shortName}
          </button>
          {current && <span className="badge">current</span>}
        </th>
        <td className="count new">{deck.newCount}</td>
        <td className="count learn">{deck.learnCount}</td>
        <td className="count due">{deck.reviewCount}</td>
        <td className="actions">
          <details className="menu" ref={menu}>
            <summary aria-label={`Actions for ${deck.name}`}>⋯</summary>
            <div className="menu-items">
              {!current && (
                <button
                  type="button"
                  onClick={() => {
                    menu.current?.removeAttribute('open');
                    makeCurrent.mutate();
                  }}
                >
                  Set as current
                </button>
              )}
              <button type="button" onClick={() => choose('rename')}>
                Rename
              </button>
              {!deck.filtered && <Link to={`/decks/${deck.id}/options`}>Options</Link>}
              <Link to={`/browse?q=${encodeURIComponent(`deck:"${deck.name}"`)}`}>Browse</Link>
              {deck.id !== DEFAULT_DECK_ID && (
                <button type="button" className="danger-text" onClick={() => choose('delete')}>
                  Delete
                </button>
              )}
            </div>
          </details>
        </td>
      </tr>
      {(study.error || makeCurrent.error) && (
        <tr>
          <td colSpan={5}>
            <ErrorBanner error={study.error ?? makeCurrent.error} />
          </td>
        </tr>
      )}
      {mode === 'rename' && <RenameRow deck={deck} onDone={() => setMode('view')} />}
      {mode === 'delete' && <DeleteRow deck={deck} onDone={() => setMode('view')} />}
    </>
  );
}

function RenameRow({ deck, onDone }: { deck: DeckNode; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(deck.name);
  const rename = useMutation({
    mutationFn: () => api.decks.rename(deck.id, name),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: DECKS_QUERY });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    rename.mutate();
  };
  return (
    <tr className="deck-edit">
      <td colSpan={5}>
        <form className="inline-form" onSubmit={submit} noValidate>
          <ErrorBanner error={rename.error} shownFields={['name']} />
          <Field
            label={`Rename “${deck.name}”`}
            error={fieldError(rename.error, 'name')}
            render={(props) => <input {...props} value={name} onChange={(e) => setName(e.target.value)} autoFocus />}
          />
          <div className="row">
            <button type="submit" disabled={rename.isPending}>
              Rename
            </button>
            <button type="button" className="secondary" onClick={onDone}>
              Cancel
            </button>
          </div>
        </form>
      </td>
    </tr>
  );
}

function DeleteRow({ deck, onDone }: { deck: DeckNode; onDone: () => void }) {
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () => api.decks.remove(deck.id),
    onSuccess: async () => {
      await queryClient.invalidateQueries();
      onDone();
    },
  });
  const subdecks = deck.children.length > 0 ? ' and its subdecks' : '';
  return (
    <tr className="deck-edit">
      <td colSpan={5}>
        <div className="confirm" role="alertdialog" aria-label={`Delete ${deck.name}`}>
          <p>
            Delete “{deck.name}”{subdecks} with {deck.cardCount === 1 ? '1 card' : `${deck.cardCount} cards`}? This
            cannot be undone.
          </p>
          <ErrorBanner error={remove.error} />
          <div className="row">
            <button type="button" className="danger" onClick={() => remove.mutate()} disabled={remove.isPending}>
              Delete deck
            </button>
            <button type="button" className="secondary" onClick={onDone}>
              Cancel
            </button>
          </div>
        </div>
      </td>
    </tr>
  );
}
