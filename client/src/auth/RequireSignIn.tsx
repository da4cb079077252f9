// Screens behind sign-in: without tokens, go to /signin and come back afterwards. Why the
// learner was signed out (expired, account deleted) is kept for the sign-in screen to say.

import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useSyncExternalStore, type ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';

import { client, onSignedOut } from '../api';
import type { SignOutReason } from '../api/client';

const SIGN_OUT_NOTICES: Record<SignOutReason, string | undefined> = {
  signed_out: undefined,
  expired: 'Your sign-in has ended. Please sign in again.',
  deleted: 'Your account and its collection are deleted.',
};

let signOutNotice: string | undefined;

/** Why the learner was last signed out, until they sign in again. */
export function lastSignOutNotice(): string | undefined {
  return signOutNotice;
}

export function forgetSignOutNotice(): void {
  signOutNotice = undefined;
}

export function useSignedIn(): boolean {
  return useSyncExternalStore(
    (listener) => client.tokens.subscribe(listener),
    () => client.signedIn,
  );
}

export function RequireSignIn({ children }: { children: ReactNode }) {
  const signedIn = useSignedIn();
  const location = useLocation();
  const queryClient = useQueryClient();

  useEffect(
    () =>
      onSignedOut((reason) => {
        signOutNotice = SIGN_OUT_NOTICES[reason];
        queryClient.clear();
      }),
    [queryClient],
  );

  // Losing the tokens (here, in another tab, or refused by the API) lands on sign-in.
  if (!signedIn) return <Navigate to="/signin" replace state={{ from: location.pathname + location.search }} />;
  return children;
}
