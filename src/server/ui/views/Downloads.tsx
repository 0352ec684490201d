import { useEffect, useState } from 'preact/hooks';
import { download, getJson } from '../api.js';

function quarters(now = new Date()): string[] {
  const out: string[] = [];
  let y = now.getUTCFullYear();
  let q = Math.floor(now.getUTCMonth() / 3) + 1;
  for (let i = 0; i < 8; i++) {
    out.push(`${y}Q${q}`);
    if (--q === 0) (q = 4), y--;
  }
  return out;
}

/** Every export: the report, CycloneDX, the .ndi files for Flexera, IBM's quarterly usage report. */
export function Downloads({ onError }: { onError: (e: Error) => void }) {
  const [files, setFiles] = useState<Array<{ name: string; bytes: number }> | null>(null);
  const [quarter, setQuarter] = useState(quarters()[0]);
  const [note, setNote] = useState('');
  useEffect(() => {
    getJson<{ files: Array<{ name: string; bytes: number }> }>('/api/v1/download/ndi')
      .then((d) => setFiles(d.files))
      .catch((e: Error & { status?: number }) => (e.status === 404 ? setFiles([]) : onError(e)));
  }, []);
  const get = (path: string, params: Record<string, string> = {}) =>
    download(path, params).then(
      (name) => setNote(`Downloaded ${name}`),
      (e: Error) => setNote(`Download failed: ${e.message}`),
    );
  return (
    <>
      <header class="view-head">
        <h1 tabIndex={-1}>Downloads</h1>
        <p class="summary">Every table has its own CSV download; here are the whole report and the files other tools import.</p>
      </header>
      <p aria-live="polite" class="muted">
        {note}
      </p>
      <section aria-labelledby="dl-report">
        <h2 id="dl-report">The latest report</h2>
        <ul class="actions">
          <li>
            <button type="button" onClick={() => get('/api/v1/download/report.json')}>
              Report (JSON)
            </button>
          </li>
          <li>
            <button type="button" onClick={() => get('/api/v1/download/cyclonedx.json')}>
              CycloneDX 1.6 (JSON)
            </button>
          </li>
          <li>
            <button type="button" onClick={() => get('/api/v1/download/ndi.tar')} data-role="ndi-tar">
              All .ndi files (tar)
            </button>
          </li>
        </ul>
      </section>
      <section aria-labelledby="dl-q">
        <h2 id="dl-q">Quarterly usage report</h2>
        <p class="muted">The peak of every licence figure in the quarter, the day it happened and the daily series (as <code>kensus report usage --quarter</code>).</p>
        <div class="toolbar">
          <label>
            <span>Quarter</span>
            <select value={quarter} onChange={(e) => setQuarter((e.target as HTMLSelectElement).value)} data-role="quarter">
              {quarters().map((q) => (
                <option key={q} value={q}>
                  {q}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => get('/api/v1/download/usage', { quarter, format: 'json' })} data-role="quarter-json">
            Download JSON
          </button>
          <button type="button" class="secondary" onClick={() => get('/api/v1/download/usage', { quarter, format: 'csv' })} data-role="quarter-csv">
            Download CSV
          </button>
        </div>
      </section>
      <section aria-labelledby="dl-ndi">
        <h2 id="dl-ndi">.ndi files (Flexera inventory import)</h2>
        {files === null && <p aria-busy="true">Loading…</p>}
        {files && files.length === 0 && <p class="muted">No sweep has finished yet.</p>}
        {files && files.length > 0 && (
          <ul class="files">
            {files.map((f) => (
              <li key={f.name}>
                <button type="button" class="link" onClick={() => get(`/api/v1/download/ndi/${encodeURIComponent(f.name)}`)}>
                  {f.name}
                </button>{' '}
                <span class="muted small">{Math.ceil(f.bytes / 1024)} KB</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
