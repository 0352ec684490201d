/**
 * The page's side of the read API: fetch with the signed-in token (kept in sessionStorage, so
 * it goes with the tab), typed answers, downloads through a Blob so the token goes in a header
 * and never into a URL.
 */

const key = 'kensus.token';

export const token = {
  get: (): string | null => sessionStorage.getItem(key),
  set: (t: string) => sessionStorage.setItem(key, t),
  clear: () => sessionStorage.removeItem(key),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly methods: string[] = [],
  ) {
    super(message);
  }
}

function headers(): HeadersInit {
  const t = token.get();
  return t ? { authorization: `Bearer ${t}` } : {};
}

async function failure(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  let methods: string[] = [];
  try {
    const body = (await res.json()) as { message?: string; methods?: string[] };
    if (body.message) message = body.message;
    methods = body.methods ?? [];
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, message, methods);
}

type Params = Record<string, string | number | undefined | null>;

export function query(params: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function getJson<T>(path: string, params: Params = {}): Promise<T> {
  const res = await fetch(`${path}${query(params)}`, { headers: headers() });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** Saves what the API answers as a file named by its Content-Disposition. */
export async function download(path: string, params: Params = {}): Promise<string> {
  const res = await fetch(`${path}${query(params)}`, { headers: headers() });
  if (!res.ok) throw await failure(res);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? path.split('/').pop() ?? 'download';
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}
