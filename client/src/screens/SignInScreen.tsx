import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router';

import { lastSignOutNotice, useSignedIn } from '../auth/RequireSignIn';
import { signInAndStartSession } from '../auth/signIn';
import { ErrorBanner, Field, Notice, fieldError } from '../components/Feedback';

interface Arrival {
  from?: string;
}

export function SignInScreen() {
  const location = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const signedIn = useSignedIn();
  const arrival = (location.state ?? {}) as Arrival;
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const signIn = useMutation({
    mutationFn: () => signInAndStartSession(username, password),
    onSuccess: () => {
      queryClient.clear();
      navigate(arrival.from && arrival.from !== '/signin' ? arrival.from : '/decks', { replace: true });
    },
  });

  if (signedIn && !signIn.isPending && !signIn.isSuccess) return <Navigate to="/decks" replace />;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate();
  };
  return (
    <main className="public">
      <h1>Javumbo</h1>
      <form className="panel" onSubmit={submit} noValidate>
        <h2>Sign in</h2>
        <Notice>{signIn.isIdle ? lastSignOutNotice() : undefined}</Notice>
        <ErrorBanner error={signIn.error} shownFields={['username', 'password']} />
        <Field
          label="Username"
          error={fieldError(signIn.error, 'username')}
          render={(props) => (
            <input
              {...props}
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              required
            />
          )}
        />
        <Field
          label="Password"
          error={fieldError(signIn.error, 'password')}
          render={(props) => (
            <input
              {...props}
              name="password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
          )}
        />
        <button type="submit" disabled={signIn.isPending}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
        <p>
          New here? <Link to="/signup">Create an account</Link>
        </p>
      </form>
    </main>
  );
}
