// Signing in: tokens from /api/auth/login, then a session for this tab.

import { api } from '../api';
import { forgetSignOutNotice } from './RequireSignIn';

export async function signInAndStartSession(username: string, password: string): Promise<void> {
  await api.auth.login(username, password);
  forgetSignOutNotice();
  // The session is a cache hint: failing to start one must not block signing in.
  await api.session.start().catch(() => undefined);
}

export function browserTimezone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
