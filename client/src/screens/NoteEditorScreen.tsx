// Adding a note (any note type: Basic, Basic (and reversed card), Cloze...) with its
// deck and tags, or editing an existing note's fields and tags.

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';

import { api, type Note, type Notetype } from '../api';
import { flattenDecks, useDeckTree } from '../decks';
import { ErrorBanner, Field, Loading, Notice, fieldError } from '../components/Feedback';
import { nextClozeNumber, parseTags, wrapCloze } from '../notes';

const LAST_NOTETYPE = 'javumbo.lastNotetype';

export function NoteEditorScreen() {
  const noteId = useParams().noteId;
  const location = useLocation();
  const notetypes = useQuery({ queryKey: ['notetypes'], queryFn: api.notetypes.list, staleTime: 300_000 });
  const note = useQuery({
    queryKey: ['note', Number(noteId)],
    queryFn: () => api.notes.get(Number(noteId)),
    enabled: noteId !== undefined,
  });
  if (notetypes.isPending || (noteId && note.isPending)) return <Loading what="the note editor" />;
  const failed = notetypes.error ?? note.error;
  if (failed || !notetypes.data) return <ErrorBanner error={failed} onRetry={() => void notetypes.refetch()} />;
  return noteId && note.data ? (
    <EditNote key={note.data.id} note={note.data} notetypes={notetypes.data} />
  ) : (
    // Each visit (the Add link included) starts a fresh form.
    <AddNote key={location.key} notetypes={notetypes.data} />
  );
}

function AddNote({ notetypes }: { notetypes: Notetype[] }) {
  const queryClient = useQueryClient();
  const tree = useDeckTree();
  const [notetypeId, setNotetypeId] = useState(() => initialNotetype(notetypes));
  const [deckId, setDeckId] = useState<number | null>(null);
  const [tags, setTags] = useState('');
  const notetype = notetypes.find((candidate) => candidate.id === notetypeId) ?? notetypes[0];
  const [fields, setFields] = useState<Record<string, string>>({});
  const chosenDeck = deckId ?? tree.data?.currentDeckId ?? 1;
  const add = useMutation({
    mutationFn: () =>
      api.notes.create({
        notetypeId: notetype?.id ?? 0,
        deckId: chosenDeck,
        fields: fieldsOf(notetype, fields),
        tags: parseTags(tags),
      }),
    onSuccess: () => {
      setFields({});
      return queryClient.invalidateQueries();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  const choose = (id: number) => {
    setNotetypeId(id);
    localStorage.setItem(LAST_NOTETYPE, String(id));
  };
  return (
    <form className="panel note-form" onSubmit={submit} noValidate>
      <h1>Add a note</h1>
      <ErrorBanner error={add.error} shownFields={shownFields(notetype)} />
      {add.isSuccess && (
        <Notice>
          Added a note with {add.data.cards.length === 1 ? '1 card' : `${add.data.cards.length} cards`}.{' '}
          <Link to={`/notes/${add.data.id}`}>Edit it</Link>
        </Notice>
      )}
      <div className="grid">
        <Field
          label="Type"
          error={fieldError(add.error, 'notetypeId', 'notetype')}
          render={(p) => (
            <select {...p} name="notetype" value={notetype?.id} onChange={(e) => choose(Number(e.target.value))}>
              {notetypes.map((candidate) => (
                <option key={candidate.id} value={candidate.id}>
                  {candidate.name}
                </option>
              ))}
            </select>
          )}
        />
        <Field
          label="Deck"
          error={fieldError(add.error, 'deckId')}
          render={(p) => (
            <select {...p} name="deck" value={chosenDeck} onChange={(e) => setDeckId(Number(e.target.value))}>
              {flattenDecks(tree.data?.decks ?? []).map((deck) => (
                <option key={deck.id} value={deck.id}>
                  {deck.name}
                </option>
              ))}
            </select>
          )}
        />
      </div>
      {notetype && <FieldInputs notetype={notetype} values={fields} onChange={setFields} error={add.error} />}
      <TagsInput value={tags} onChange={setTags} error={fieldError(add.error, 'tags')} />
      <button type="submit" disabled={add.isPending}>
        {add.isPending ? 'Adding…' : 'Add note'}
      </button>
    </form>
  );
}

function EditNote({ note, notetypes }: { note: Note; notetypes: Notetype[] }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const notetype = notetypes.find((candidate) => candidate.id === note.notetypeId);
  const [fields, setFields] = useState<Record<string, string>>(note.fields);
  const [tags, setTags] = useState(note.tags.join(' '));
  const [confirmDelete, setConfirmDelete] = useState(false);
  const save = useMutation({
    mutationFn: () => api.notes.update(note.id, { fields: fieldsOf(notetype, fields), tags: parseTags(tags) }),
    onSuccess: (saved) => {
      queryClient.setQueryData(['note', note.id], saved);
      return queryClient.invalidateQueries({ queryKey: ['cards'] });
    },
  });
  const remove = useMutation({
    mutationFn: () => api.notes.remove(note.id),
    onSuccess: async () => {
      await queryClient.invalidateQueries();
      navigate('/browse');
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <form className="panel note-form" onSubmit={submit} noValidate>
      <p>
        <Link to="/browse">← Browse</Link>
      </p>
      <h1>Edit note</h1>
      <p className="hint">
        {note.notetype} · {note.cards.length === 1 ? '1 card' : `${note.cards.length} cards`}
      </p>
      <ErrorBanner error={save.error ?? remove.error} shownFields={shownFields(notetype)} />
      {save.isSuccess && <Notice>Saved.</Notice>}
      {notetype && <FieldInputs notetype={notetype} values={fields} onChange={setFields} error={save.error} />}
      <TagsInput value={tags} onChange={setTags} error={fieldError(save.error, 'tags')} />
      <div className="row">
        <button type="submit" disabled={save.isPending}>
          Save note
        </button>
        <button type="button" className="danger secondary" onClick={() => setConfirmDelete(true)}>
          Delete note
        </button>
      </div>
      {confirmDelete && (
        <div className="confirm" role="alertdialog" aria-label="Delete note">
          <p>
            Delete this note and its {note.cards.length === 1 ? 'card' : `${note.cards.length} cards`}? This cannot be
            undone.
          </p>
          <div className="row">
            <button type="button" className="danger" onClick={() => remove.mutate()} disabled={remove.isPending}>
              Delete
            </button>
            <button type="button" className="secondary" onClick={() => setConfirmDelete(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </form>
  );
}

function FieldInputs(props: {
  notetype: Notetype;
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
  error: unknown;
}) {
  const { notetype, values, onChange, error } = props;
  const areas = useRef<Record<string, HTMLTextAreaElement | null>>({});
  const [caret, setCaret] = useState<{ field: string; at: number } | null>(null);
  useEffect(() => {
    const area = caret ? areas.current[caret.field] : null;
    if (caret && area) {
      area.focus();
      area.setSelectionRange(caret.at, caret.at);
    }
  }, [caret]);
  const cloze = (name: string) => {
    const area = areas.current[name];
    const text = values[name] ?? '';
    const number = nextClozeNumber(Object.values(values));
    const wrapped = wrapCloze(text, area?.selectionStart ?? text.length, area?.selectionEnd ?? text.length, number);
    onChange({ ...values, [name]: wrapped.text });
    setCaret({ field: name, at: wrapped.caret });
  };
  return (
    <>
      {notetype.fields.map((field, index) => (
        <Field
          key={field.name}
          label={field.name}
          hint={
            notetype.kind === 'cloze' && index === 0
              ? 'Mark what to hide as {{c1::text}}; each number is a card.'
              : undefined
          }
          error={fieldError(error, `fields.${field.name}`, `fields.${index}`, ...(index === 0 ? ['fields'] : []))}
          render={(p) => (
            <div className="field-editor">
              <textarea
                {...p}
                name={`field-${field.name}`}
                ref={(element) => {
                  areas.current[field.name] = element;
                }}
                rows={index === 0 ? 3 : 2}
                value={values[field.name] ?? ''}
                onChange={(e) => onChange({ ...values, [field.name]: e.target.value })}
              />
              {notetype.kind === 'cloze' && (
                <button type="button" className="secondary small" onClick={() => cloze(field.name)}>
                  [...] Cloze
                </button>
              )}
            </div>
          )}
        />
      ))}
    </>
  );
}

function TagsInput({ value, onChange, error }: { value: string; onChange: (value: string) => void; error?: string }) {
  return (
    <Field
      label="Tags"
      hint="Separated by spaces; use :: for hierarchy, e.g. spanish::verbs"
      error={error}
      render={(p) => (
        <input {...p} name="tags" autoCapitalize="none" value={value} onChange={(e) => onChange(e.target.value)} />
      )}
    />
  );
}

function fieldsOf(notetype: Notetype | undefined, values: Record<string, string>): Record<string, string> {
  return Object.fromEntries((notetype?.fields ?? []).map((field) => [field.name, values[field.name] ?? '']));
}

function shownFields(notetype: Notetype | undefined): string[] {
  const names = (notetype?.fields ?? []).flatMap((field, index) => [`fields.${field.name}`, `fields.${index}`]);
  return [...names, 'fields', 'tags', 'deckId', 'notetypeId', 'notetype'];
}

function initialNotetype(notetypes: Notetype[]): number {
  const remembered = Number(localStorage.getItem(LAST_NOTETYPE));
  if (notetypes.some((candidate) => candidate.id === remembered)) return remembered;
  return (notetypes.find((candidate) => candidate.name === 'Basic') ?? notetypes[0])?.id ?? 0;
}
