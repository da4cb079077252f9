import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';

import { api } from '../api';
import { browserTimezone, signInAndStartSession } from '../auth/signIn';
import { ErrorBanner, Field, fieldError } from '../components/Feedback';
import { TimezoneInput } from '../components/TimezoneInput';

const FIELDS = ['username', 'name', 'password', 'timezone', 'starterDeck'];

export function RegisterScreen() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState({
    username: '',
    name: '',
    password: '',
    timezone: browserTimezone(),
    starterDeck: true,
  });
  // A second try after a failed sign-in must not register the same name again.
  const registered = useRef<string | null>(null);
  const register = useMutation({
    mutationFn: async () => {
      if (registered.current !== form.username) {
        await api.auth.register(form);
        registered.current = form.username;
      }
      await signInAndStartSession(form.username, form.password);
    },
    onSuccess: () => {
      queryClient.clear();
      navigate('/decks', { replace: true });
    },
  });
  const set = (changes: Partial<typeof form>) => setForm((current) => ({ ...current, ...changes }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    register.mutate();
  };
  const error = register.error;
  return (
    <main className="public">
      <h1>Javumbo</h1>
      <form className="panel" onSubmit={submit} noValidate>
        <h2>Create your account</h2>
        <ErrorBanner error={error} shownFields={FIELDS} />
        <Field
          label="Username"
          hint="3 to 32 characters: a-z, digits, _ or -"
          error={fieldError(error, 'username')}
          render={(props) => (
            <input
              {...props}
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              value={form.username}
              onChange={(e) => set({ username: e.target.value })}
            />
          )}
        />
        <Field
          label="Your name (optional)"
          error={fieldError(error, 'name')}
          render={(props) => (
            <input
              {...props}
              name="name"
              autoComplete="name"
              value={form.name}
              onChange={(e) => set({ name: e.target.value })}
            />
          )}
        />
        <Field
          label="Password"
          hint="At least 8 characters"
          error={fieldError(error, 'password')}
          render={(props) => (
            <input
              {...props}
              name="password"
              type="password"
              autoComplete="new-password"
              value={form.password}
              onChange={(e) => set({ password: e.target.value })}
            />
          )}
        />
        <Field
          label="Time zone"
          hint="Your study day starts at 4:00 in this zone"
          error={fieldError(error, 'timezone')}
          render={(props) => (
            <TimezoneInput
              {...props}
              name="timezone"
              value={form.timezone}
              onChange={(timezone) => set({ timezone })}
            />
          )}
        />
        <label className="check">
          <input type="checkbox" checked={form.starterDeck} onChange={(e) => set({ starterDeck: e.target.checked })} />{' '}
          Start with the sample deck “English::Verb tenses”
        </label>
        <button type="submit" disabled={register.isPending}>
          {register.isPending ? 'Creating…' : 'Create account'}
        </button>
        <p>
          Already have an account? <Link to="/signin">Sign in</Link>
        </p>
      </form>
    </main>
  );
}
