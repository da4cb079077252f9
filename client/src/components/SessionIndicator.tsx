// The learner's session: active or not, time left, changes not yet folded into the
// snapshot, and "Save now" (POST /api/session/flush). Closing the tab asks first only
// while there are such changes.

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';

import { api, onCollectionChange } from '../api';
import { ErrorBanner } from './Feedback';
import { sessionView } from './session';
import { useNow } from './useNow';

export const SESSION_QUERY = ['session-status'] as const;

export function SessionIndicator() {
  const queryClient = useQueryClient();
  const status = useQuery({ queryKey: SESSION_QUERY, queryFn: api.session.status, staleTime: 0 });
  const flush = useMutation({
    mutationFn: api.session.flush,
    onSettled: () => queryClient.invalidateQueries({ queryKey: SESSION_QUERY }),
  });
  const now = useNow(1000);
  const view = sessionView(status.data, now);

  // Re-read after every accepted change rather than polling (a poll would keep the session alive).
  useEffect(
    () => onCollectionChange(() => void queryClient.invalidateQueries({ queryKey: SESSION_QUERY })),
    [queryClient],
  );
  useEffect(() => {
    if (!view.warnOnClose) return undefined;
    const warn = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = '';
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [view.warnOnClose]);

  return (
    <section className="session" aria-label="Session">
      <span className="session-state">{view.label}</span>
      <span className={view.warnOnClose ? 'session-pending unsaved' : 'session-pending'} data-testid="pending">
        {view.pendingLabel}
      </span>
      <button
        type="button"
        className="secondary small"
        onClick={() => flush.mutate()}
        disabled={flush.isPending || !view.canSave}
      >
        {flush.isPending ? 'Saving…' : 'Save now'}
      </button>
      <ErrorBanner error={flush.error ?? status.error} />
    </section>
  );
}
