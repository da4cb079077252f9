// The learner's account: name and time zone, password, sign out (here or everywhere),
// and deleting the account with its collection.

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';

import { api, client, type User } from '../api';
import { ErrorBanner, Field, Loading, Notice, fieldError } from '../components/Feedback';
import { TimezoneInput } from '../components/TimezoneInput';

const ME = ['me'] as const;

export function AccountScreen() {
  const me = useQuery({ queryKey: ME, queryFn: api.auth.me });
  if (me.isPending) return <Loading what="your account" />;
  if (me.isError) return <ErrorBanner error={me.error} onRetry={() => void me.refetch()} />;
  return (
    <div className="stack">
      <h1>Account</h1>
      <p>
        Signed in as <strong>{me.data.username}</strong>, since {new Date(me.data.createdAt).toLocaleDateString()}.
      </p>
      <ProfileForm user={me.data} />
      <PasswordForm />
      <SignOutPanel />
      <DeletePanel />
    </div>
  );
}

function ProfileForm({ user }: { user: User }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(user.name);
  const [timezone, setTimezone] = useState(user.timezone);
  useEffect(() => {
    setName(user.name);
    setTimezone(user.timezone);
  }, [user]);
  const save = useMutation({
    mutationFn: () => api.auth.update({ name, timezone }),
    onSuccess: (updated) => queryClient.setQueryData(ME, updated),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <form className="panel" onSubmit={submit} noValidate>
      <h2>Profile</h2>
      <ErrorBanner error={save.error} shownFields={['name', 'timezone']} />
      {save.isSuccess && <Notice>Saved.</Notice>}
      <Field
        label="Name"
        error={fieldError(save.error, 'name')}
        render={(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
      />
      <Field
        label="Time zone"
        hint="Your study day starts at 4:00 in this zone"
        error={fieldError(save.error, 'timezone')}
        render={(p) => <TimezoneInput {...p} name="timezone" value={timezone} onChange={setTimezone} />}
      />
      <button type="submit" disabled={save.isPending}>
        Save profile
      </button>
    </form>
  );
}

function PasswordForm() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const change = useMutation({
    mutationFn: () => api.auth.changePassword(current, next),
    onSuccess: () => {
      setCurrent('');
      setNext('');
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    change.mutate();
  };
  return (
    <form className="panel" onSubmit={submit} noValidate>
      <h2>Change password</h2>
      <ErrorBanner error={change.error} shownFields={['currentPassword', 'newPassword']} />
      {change.isSuccess && <Notice>Password changed. Your other devices will have to sign in again.</Notice>}
      <Field
        label="Current password"
        error={fieldError(change.error, 'currentPassword')}
        render={(p) => (
          <input
            {...p}
            type="password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
          />
        )}
      />
      <Field
        label="New password"
        hint="At least 8 characters"
        error={fieldError(change.error, 'newPassword')}
        render={(p) => (
          <input
            {...p}
            type="password"
            autoComplete="new-password"
            value={next}
            onChange={(e) => setNext(e.target.value)}
          />
        )}
      />
      <button type="submit" disabled={change.isPending}>
        Change password
      </button>
    </form>
  );
}

function SignOutPanel() {
  const everywhere = useMutation({ mutationFn: api.auth.logoutEverywhere });
  return (
    <section className="panel">
      <h2>Sign out</h2>
      <ErrorBanner error={everywhere.error} />
      <div className="row">
        <button type="button" className="secondary" onClick={() => client.signOut()}>
          Sign out
        </button>
        <button type="button" className="secondary" onClick={() => everywhere.mutate()} disabled={everywhere.isPending}>
          Sign out everywhere
        </button>
      </div>
      <small className="hint">
        “Everywhere” stops every device from renewing its sign-in; each stops working when its short-lived access token
        runs out (15 minutes by default).
      </small>
    </section>
  );
}

function DeletePanel() {
  const [password, setPassword] = useState('');
  const [sure, setSure] = useState(false);
  const remove = useMutation({ mutationFn: () => api.auth.deleteAccount(password) });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (sure) remove.mutate();
  };
  return (
    <form className="panel danger-zone" onSubmit={submit} noValidate>
      <h2>Delete account</h2>
      <p>This deletes your account and every deck, card and review in it. It cannot be undone.</p>
      <ErrorBanner error={remove.error} shownFields={['password']} />
      <Field
        label="Your password"
        error={fieldError(remove.error, 'password')}
        render={(p) => (
          <input
            {...p}
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        )}
      />
      <label className="check">
        <input type="checkbox" checked={sure} onChange={(e) => setSure(e.target.checked)} /> I understand my collection
        will be gone for good
      </label>
      <button type="submit" className="danger" disabled={!sure || !password || remove.isPending}>
        Delete my account
      </button>
    </form>
  );
}
