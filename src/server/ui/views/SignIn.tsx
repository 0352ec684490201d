import { useState } from 'preact/hooks';
import { token } from '../api.js';

/** Asks for a token: an API token of this server, or the user's Kubernetes token. */
export function SignIn({ message, methods, onDone }: { message: string; methods: string[]; onDone: () => void }) {
  const [value, setValue] = useState('');
  const kube = methods.includes('kubernetes');
  const api = methods.includes('token');
  return (
    <section class="signin" aria-labelledby="signin-h">
      <h1 id="signin-h" tabIndex={-1}>
        Sign in
      </h1>
      <p>{message}</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          token.set(value.trim());
          onDone();
        }}
      >
        <label for="signin-token">Token</label>
        <input id="signin-token" type="password" autoComplete="off" required value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        <button type="submit">Sign in</button>
      </form>
      <ul class="muted">
        {api && <li>An API token of this server (the file given to <code>kensus serve --api-token-file</code>).</li>}
        {kube && (
          <li>
            Your Kubernetes token, e.g. from <code>kubectl create token NAME</code>; you need <code>get</code> on <code>reports.kensus.dev</code>.
          </li>
        )}
      </ul>
      <p class="muted">The token stays in this browser tab only and is sent in a header, never in a link.</p>
    </section>
  );
}
