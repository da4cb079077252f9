// The options preset a deck uses (new cards per day, steps, intervals...), as a form.

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';

import { api, type DeckOptions } from '../api';
import { DECKS_QUERY, findDeck, useDeckTree } from '../decks';
import { ErrorBanner, Field, Loading, Notice, fieldError } from '../components/Feedback';
import { FLAG_FIELDS, NUMBER_FIELDS, STEP_FIELDS, formValues, parseForm, type FormValues } from './deckOptionsForm';

export function DeckOptionsScreen() {
  const deckId = Number(useParams().deckId);
  const tree = useDeckTree();
  const options = useQuery({ queryKey: ['deck-options', deckId], queryFn: () => api.decks.options(deckId) });
  const deck = tree.data ? findDeck(tree.data.decks, deckId) : undefined;
  if (options.isPending) return <Loading what="the deck's options" />;
  if (options.isError) return <ErrorBanner error={options.error} onRetry={() => void options.refetch()} />;
  return (
    <div className="stack">
      <p>
        <Link to="/decks">← Decks</Link>
      </p>
      <h1>Options of “{deck?.name ?? `deck ${deckId}`}”</h1>
      <OptionsForm deckId={deckId} options={options.data} />
    </div>
  );
}

function OptionsForm({ deckId, options }: { deckId: number; options: DeckOptions }) {
  const queryClient = useQueryClient();
  const [values, setValues] = useState<FormValues>(() => formValues(options));
  const [problems, setProblems] = useState<Record<string, string>>({});
  useEffect(() => setValues(formValues(options)), [options]);
  const save = useMutation({
    mutationFn: (body: Partial<DeckOptions>) => api.decks.saveOptions(options.id, body),
    onSuccess: (saved) => {
      queryClient.setQueryData(['deck-options', deckId], saved);
      return queryClient.invalidateQueries({ queryKey: DECKS_QUERY });
    },
  });
  const set = (key: string, value: string | boolean) => setValues((current) => ({ ...current, [key]: value }));
  const problem = (key: string) => problems[key] ?? fieldError(save.error, key);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseForm(values);
    setProblems(parsed.problems);
    if (Object.keys(parsed.problems).length === 0) save.mutate(parsed.body);
  };
  const shown = [
    'name',
    'leechAction',
    ...NUMBER_FIELDS.map(([k]) => k),
    ...STEP_FIELDS.map(([k]) => k),
    ...FLAG_FIELDS.map(([k]) => k),
  ];
  const others = options.deckIds.length - 1;
  return (
    <form className="panel options-form" onSubmit={submit} noValidate>
      <ErrorBanner error={save.error} shownFields={shown} />
      {save.isSuccess && <Notice>Options saved.</Notice>}
      <Field
        label="Preset name"
        hint={
          others > 0
            ? `Shared with ${others} other deck${others === 1 ? '' : 's'}: changes apply to them too.`
            : undefined
        }
        error={problem('name')}
        render={(p) => <input {...p} value={String(values.name)} onChange={(e) => set('name', e.target.value)} />}
      />
      <div className="grid">
        {STEP_FIELDS.map(([key, label]) => (
          <Field
            key={key}
            label={label}
            hint="minutes, e.g. 1 10"
            error={problem(key)}
            render={(p) => (
              <input
                {...p}
                inputMode="numeric"
                value={String(values[key])}
                onChange={(e) => set(key, e.target.value)}
              />
            )}
          />
        ))}
        {NUMBER_FIELDS.map(([key, label, unit]) => (
          <Field
            key={key}
            label={label}
            hint={unit || undefined}
            error={problem(key)}
            render={(p) => (
              <input
                {...p}
                inputMode="decimal"
                value={String(values[key])}
                onChange={(e) => set(key, e.target.value)}
              />
            )}
          />
        ))}
        <Field
          label="Leech action"
          error={problem('leechAction')}
          render={(p) => (
            <select {...p} value={String(values.leechAction)} onChange={(e) => set('leechAction', e.target.value)}>
              <option value="suspend">Suspend the card</option>
              <option value="tagOnly">Tag it only</option>
            </select>
          )}
        />
      </div>
      {FLAG_FIELDS.map(([key, label]) => (
        <label key={key} className="check">
          <input type="checkbox" checked={values[key] === true} onChange={(e) => set(key, e.target.checked)} /> {label}
        </label>
      ))}
      <button type="submit" disabled={save.isPending}>
        {save.isPending ? 'Saving…' : 'Save options'}
      </button>
    </form>
  );
}
