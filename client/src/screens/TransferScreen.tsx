// Import an .apkg or .colpkg (with upload progress and what was added), and export the
// collection or one deck as an .apkg (a file, or a short-lived link for large ones).

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';

import { api, type ExportDownload, type ImportResult } from '../api';
import { flattenDecks, useDeckTree } from '../decks';
import { saveDownload, sizeText } from '../download';
import { ErrorBanner, Field, Notice, fieldError } from '../components/Feedback';

export function TransferScreen() {
  return (
    <div className="stack">
      <h1>Import and export</h1>
      <ImportForm />
      <ExportForm />
    </div>
  );
}

function ImportForm() {
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [scheduling, setScheduling] = useState(true);
  const [progress, setProgress] = useState(0);
  const upload = useMutation({
    mutationFn: (chosen: File) => api.exchange.upload(chosen, { scheduling, onProgress: setProgress }),
    onMutate: () => setProgress(0),
    onSuccess: () => queryClient.invalidateQueries(),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (file) upload.mutate(file);
  };
  const uploaded = progress >= 1;
  return (
    <form className="panel" onSubmit={submit} noValidate>
      <h2>Import</h2>
      <p className="hint">
        An Anki package (.apkg) or a whole Anki collection (.colpkg). Notes you already have are updated when newer.
      </p>
      <ErrorBanner error={upload.error} shownFields={['file', 'scheduling']} />
      <Field
        label="File"
        error={fieldError(upload.error, 'file')}
        render={(p) => (
          <input
            {...p}
            type="file"
            name="file"
            accept=".apkg,.colpkg"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
        )}
      />
      <label className="check">
        <input type="checkbox" checked={scheduling} onChange={(e) => setScheduling(e.target.checked)} /> Include
        scheduling and review history
      </label>
      <button type="submit" disabled={!file || upload.isPending}>
        {upload.isPending ? 'Importing…' : 'Import'}
      </button>
      {upload.isPending && (
        <div className="progress">
          <progress max={1} value={progress} aria-label="Upload progress" />
          <span>
            {uploaded
              ? 'Uploaded; importing…'
              : `Uploading ${Math.round(progress * 100)}%${file ? ` of ${sizeText(file.size)}` : ''}`}
          </span>
        </div>
      )}
      {upload.data && <ImportSummary result={upload.data} />}
    </form>
  );
}

function ImportSummary({ result }: { result: ImportResult }) {
  const rows: [string, string][] = [
    ['Notes', `${result.notes.added} added, ${result.notes.updated} updated, ${result.notes.skipped} skipped`],
    ['Cards', `${result.cards.added} added, ${result.cards.updated} updated, ${result.cards.skipped} skipped`],
    ['Reviews', `${result.revlog.added} added`],
    ['Decks', `${result.decks.added} added`],
    ['Note types', `${result.notetypes.added} added, ${result.notetypes.matched} matched`],
    ['Media', `${result.media.added} added, ${result.media.skipped} skipped`],
  ];
  return (
    <div className="import-result" role="status">
      <Notice>Import finished.</Notice>
      <dl>
        {rows.map(([label, text]) => (
          <div key={label} data-import={label}>
            <dt>{label}</dt>
            <dd>{text}</dd>
          </div>
        ))}
      </dl>
      {result.skipped.length > 0 && (
        <details>
          <summary>Why some were skipped</summary>
          <ul>
            {result.skipped.slice(0, 50).map((skip) => (
              <li key={skip.guid}>
                <code>{skip.guid}</code>: {skip.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

function ExportForm() {
  const tree = useDeckTree();
  const [deckId, setDeckId] = useState<number | undefined>(undefined);
  const [scheduling, setScheduling] = useState(true);
  const exported = useMutation({
    mutationFn: () => api.exchange.download({ deckId, scheduling }),
    onSuccess: (download: ExportDownload) => saveDownload(download),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    exported.mutate();
  };
  const done = exported.data;
  return (
    <form className="panel" onSubmit={submit} noValidate>
      <h2>Export</h2>
      <p className="hint">An Anki package (.apkg) that Anki and Javumbo can import.</p>
      <ErrorBanner error={exported.error} />
      <label>
        What{' '}
        <select value={deckId ?? ''} onChange={(e) => setDeckId(e.target.value ? Number(e.target.value) : undefined)}>
          <option value="">Whole collection</option>
          {flattenDecks(tree.data?.decks ?? []).map((deck) => (
            <option key={deck.id} value={deck.id}>
              {deck.name}
            </option>
          ))}
        </select>
      </label>
      <label className="check">
        <input type="checkbox" checked={scheduling} onChange={(e) => setScheduling(e.target.checked)} /> Include
        scheduling and review history
      </label>
      <button type="submit" disabled={exported.isPending}>
        {exported.isPending ? 'Preparing…' : 'Download .apkg'}
      </button>
      {done?.kind === 'file' && (
        <Notice>
          Downloaded {done.filename} ({sizeText(done.blob.size)}).
        </Notice>
      )}
      {done?.kind === 'link' && (
        <Notice>
          Your export ({sizeText(done.bytes)}) is ready:{' '}
          <a href={done.downloadUrl} download={done.filename} rel="noopener">
            download {done.filename}
          </a>{' '}
          (link valid until {new Date(done.expiresAt).toLocaleTimeString()}).
        </Notice>
      )}
    </form>
  );
}
