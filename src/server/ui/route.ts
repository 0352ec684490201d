/** Hash routes: #/view/part/part?filter=value, so drill-down links and the back button work. */
export interface Route {
  parts: string[];
  params: Record<string, string>;
}

export function parseRoute(hash: string): Route {
  const [path, q] = hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts: parts.length ? parts : ['overview'], params: Object.fromEntries(new URLSearchParams(q ?? '')) };
}

export function href(parts: string[], params: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return `#/${parts.map(encodeURIComponent).join('/')}${s ? `?${s}` : ''}`;
}
