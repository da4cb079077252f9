// Studying: the question, "Show answer", the answer, and four buttons labelled with the
// interval each gives; remaining counts; undo; and a clear state when nothing is due.

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';

import { api, type Ease, type StudyCard, type StudyState } from '../api';
import { CardHtml } from '../components/CardHtml';
import { ErrorBanner, Loading } from '../components/Feedback';
import { findDeck, useDeckTree } from '../decks';
import { activatesTarget, isTypingTarget, studyKeyAction, type StudyAction } from '../study/keys';
import { nextDuePhrase } from '../study/when';

const BUTTONS: { ease: Ease; label: string; className: string }[] = [
  { ease: 1, label: 'Again', className: 'again' },
  { ease: 2, label: 'Hard', className: 'hard' },
  { ease: 3, label: 'Good', className: 'good' },
  { ease: 4, label: 'Easy', className: 'easy' },
];
/** The API returns learning cards due within this window early (Anki's learn-ahead limit). */
const LEARN_AHEAD_MS = 20 * 60_000;

export function StudyScreen() {
  const [params] = useSearchParams();
  const deckParam = params.get('deck');
  const deckId = deckParam ? Number(deckParam) : undefined;
  const queryKey = ['review', deckId ?? 'current'];
  const queryClient = useQueryClient();
  const study = useQuery({ queryKey, queryFn: () => api.review.next(deckId), staleTime: 0 });
  const [revealed, setRevealed] = useState(false);
  const shownAt = useRef(Date.now());
  const cardId = study.data?.card?.id;

  const showQuestion = () => {
    setRevealed(false);
    shownAt.current = Date.now();
  };
  // A different card means a fresh question (a refetch of the same card keeps the answer up).
  useEffect(showQuestion, [cardId]);

  const advance = (next: StudyState) => {
    queryClient.setQueryData(queryKey, next);
    showQuestion(); // the next card may be the same one again (a learning step)
    void queryClient.invalidateQueries({ queryKey: ['decks'], refetchType: 'none' });
    void queryClient.invalidateQueries({ queryKey: ['stats'], refetchType: 'none' });
  };
  const undo = useMutation({ mutationFn: () => api.review.undo(deckId), onSuccess: (undone) => advance(undone.next) });
  const answer = useMutation({
    mutationFn: ({ card, ease }: { card: StudyCard; ease: Ease }) =>
      api.review.answer(card.id, ease, Date.now() - shownAt.current, deckId),
    onSuccess: (answered) => {
      undo.reset();
      advance(answered.next);
    },
  });
  const busy = answer.isPending || undo.isPending;

  const perform = useCallback(
    (action: StudyAction) => {
      const card = study.data?.card;
      if (action.kind === 'undo') undo.mutate();
      else if (action.kind === 'show') setRevealed(true);
      else if (card) answer.mutate({ card, ease: action.ease });
    },
    [study.data, undo, answer],
  );
  useStudyKeys(perform, { hasCard: Boolean(study.data?.card), revealed, busy });
  useRefetchWhenDue(study.data?.nextDueAt ?? null, study.refetch);

  if (study.isPending) return <Loading what="your next card" />;
  if (study.isError) return <ErrorBanner error={study.error} onRetry={() => void study.refetch()} />;
  const state = study.data;
  return (
    <div className="study">
      <StudyHeader state={state} />
      <ErrorBanner error={answer.error ?? undo.error} />
      {state.card ? (
        <CardView state={state} card={state.card} revealed={revealed} busy={busy} onAction={perform} />
      ) : (
        <Congratulations nextDueAt={state.nextDueAt} />
      )}
      <div className="row study-tools">
        <button
          type="button"
          className="secondary small"
          onClick={(event) => {
            // Otherwise a later space (show answer) would press Undo again.
            event.currentTarget.blur();
            perform({ kind: 'undo' });
          }}
          disabled={busy}
        >
          Undo <kbd>z</kbd>
        </button>
        {undo.isSuccess && <span className="hint">Undone.</span>}
      </div>
    </div>
  );
}

function StudyHeader({ state }: { state: StudyState }) {
  const tree = useDeckTree();
  const deck = tree.data ? findDeck(tree.data.decks, state.deckId) : undefined;
  const queue = state.card?.queue;
  const active = queue === 0 ? 'new' : queue === 1 || queue === 3 ? 'learning' : queue === 2 ? 'review' : null;
  return (
    <div className="study-header">
      <h1>{deck?.name ?? 'Study'}</h1>
      <p className="counts" aria-label="Cards left today">
        <span className={active === 'new' ? 'count new active' : 'count new'} title="New">
          {state.counts.new}
        </span>
        {' + '}
        <span className={active === 'learning' ? 'count learn active' : 'count learn'} title="Learning">
          {state.counts.learning}
        </span>
        {' + '}
        <span className={active === 'review' ? 'count due active' : 'count due'} title="To review">
          {state.counts.review}
        </span>
      </p>
    </div>
  );
}

function CardView(props: {
  state: StudyState;
  card: StudyCard;
  revealed: boolean;
  busy: boolean;
  onAction: (action: StudyAction) => void;
}) {
  const { state, card, revealed, busy, onAction } = props;
  return (
    <section className="study-card" aria-live="polite">
      <CardHtml html={revealed ? card.back : card.front} label={revealed ? 'Answer' : 'Question'} />
      {revealed ? (
        <div className="answer-buttons" role="group" aria-label="How well did you remember?">
          {BUTTONS.map(({ ease, label, className }) => (
            <button
              key={ease}
              type="button"
              className={`answer ${className}`}
              onClick={() => onAction({ kind: 'answer', ease })}
              disabled={busy}
            >
              <span className="interval">{state.intervals?.[String(ease) as '1']?.label ?? ''}</span>
              <span>{label}</span>
              <kbd>{ease}</kbd>
            </button>
          ))}
        </div>
      ) : (
        <button type="button" className="show-answer" onClick={() => onAction({ kind: 'show' })} disabled={busy}>
          Show answer <kbd>space</kbd>
        </button>
      )}
    </section>
  );
}

function Congratulations({ nextDueAt }: { nextDueAt: number | null }) {
  return (
    <section className="congrats" role="status">
      <h2>Congratulations, nothing due now</h2>
      <p>
        {nextDueAt
          ? `Next card: ${nextDuePhrase(nextDueAt, Date.now())}.`
          : 'Nothing is scheduled: add notes or pick another deck.'}
      </p>
      <p className="row">
        <Link to="/decks">Decks</Link>
        <Link to="/notes/new">Add notes</Link>
        <Link to="/stats">Statistics</Link>
      </p>
    </section>
  );
}

function useStudyKeys(
  perform: (action: StudyAction) => void,
  phase: { hasCard: boolean; revealed: boolean; busy: boolean },
) {
  const { hasCard, revealed, busy } = phase;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (isTypingTarget(event.target) || activatesTarget(event.key, event.target)) return;
      const action = studyKeyAction(event, { hasCard, revealed, busy });
      if (!action) return;
      event.preventDefault();
      perform(action);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [perform, hasCard, revealed, busy]);
}

/** Look again when the next card comes within reach, if that is within a few hours. */
function useRefetchWhenDue(nextDueAt: number | null, refetch: () => Promise<unknown>) {
  useEffect(() => {
    if (nextDueAt === null) return undefined;
    const wait = Math.max(1000, nextDueAt - LEARN_AHEAD_MS - Date.now());
    if (wait > 6 * 3_600_000) return undefined;
    const timer = window.setTimeout(() => void refetch(), wait);
    return () => window.clearTimeout(timer);
  }, [nextDueAt, refetch]);
}
