import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { ApiError, getJson, token } from './api.js';
import { href, parseRoute, type Route } from './route.js';
import { Downloads } from './views/Downloads.js';
import { History } from './views/History.js';
import { Installations } from './views/Installations.js';
import { Findings, Licences, NamespaceDetail, Namespaces, NodeDetail, Nodes, PodDetail, Pods } from './views/Inventory.js';
import { EntitlementTable, Overview } from './views/Overview.js';
import { SignIn } from './views/SignIn.js';

const nav: Array<[string, string]> = [
  ['overview', 'Overview'],
  ['history', 'History'],
  ['entitlements', 'Entitlements'],
  ['licences', 'Licences & GPUs'],
  ['nodes', 'Nodes'],
  ['namespaces', 'Namespaces'],
  ['pods', 'Pods'],
  ['findings', 'Findings'],
  ['installations', 'Installations'],
  ['downloads', 'Downloads'],
];

function View({ route, onError }: { route: Route; onError: (e: Error) => void }) {
  const [a, b, c] = route.parts;
  const p = route.params;
  switch (a) {
    case 'history':
      return <History params={p} onError={onError} />;
    case 'entitlements':
      return (
        <>
          <header class="view-head">
            <h1 tabIndex={-1}>Entitlements</h1>
          </header>
          <EntitlementTable title="All entitlements" initial={p} />
        </>
      );
    case 'licences':
      return <Licences params={p} />;
    case 'nodes':
      return b ? <NodeDetail name={b} onError={onError} /> : <Nodes params={p} />;
    case 'namespaces':
      return b ? <NamespaceDetail name={b} onError={onError} /> : <Namespaces params={p} />;
    case 'pods':
      return b && c ? <PodDetail ns={b} pod={c} onError={onError} /> : <Pods params={p} />;
    case 'findings':
      return <Findings params={p} />;
    case 'installations':
      return <Installations params={p} onError={onError} />;
    case 'downloads':
      return <Downloads onError={onError} />;
    default:
      return <Overview onError={onError} />;
  }
}

function App() {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  const [auth, setAuth] = useState<{ state: 'checking' } | { state: 'in'; user: string | null; via: string | null } | { state: 'out'; message: string; methods: string[] }>({ state: 'checking' });
  const [problem, setProblem] = useState<string | null>(null);

  const whoami = () =>
    getJson<{ user: string | null; via: string | null }>('/api/v1/whoami')
      .then((w) => setAuth({ state: 'in', ...w }))
      .catch((e: unknown) => {
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
          // Before any token was tried the API's wording is for programs; say it for people.
          setAuth({ state: 'out', message: token.get() ? e.message : 'Sign in to see the figures of this cluster.', methods: e.methods });
        } else setProblem((e as Error).message);
      });
  useEffect(() => {
    void whoami();
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  // A new view takes the focus to its heading, so keyboard and screen-reader users start there.
  useEffect(() => {
    setProblem(null);
    const h = document.querySelector<HTMLElement>('main h1');
    if (h && document.activeElement !== document.body) h.focus();
  }, [route.parts.join('/'), auth.state]);

  const onError = (e: Error) => {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      token.clear();
      setAuth({ state: 'out', message: e.message, methods: e.methods });
    } else setProblem(e.message);
  };
  const current = route.parts[0];
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href(['overview'])}>
          Kensus
        </a>
        {auth.state === 'in' && (
          <nav aria-label="Views">
            <ul>
              {nav.map(([id, label]) => (
                <li key={id}>
                  <a href={href([id])} aria-current={current === id ? 'page' : undefined}>
                    {label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        )}
        {auth.state === 'in' && auth.via !== 'open' && (
          <button
            type="button"
            class="secondary signout"
            onClick={() => {
              token.clear();
              setAuth({ state: 'out', message: 'Signed out.', methods: [] });
              void whoami();
            }}
          >
            Sign out{auth.user ? ` ${auth.user}` : ''}
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {problem && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
        {auth.state === 'checking' && <p aria-busy="true">Loading…</p>}
        {auth.state === 'out' && <SignIn message={auth.message} methods={auth.methods} onDone={() => void whoami()} />}
        {auth.state === 'in' && <View key={`${route.parts.join('/')}?${JSON.stringify(route.params)}`} route={route} onError={onError} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
