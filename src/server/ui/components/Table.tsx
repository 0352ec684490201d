import type { ComponentChild } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { download, getJson } from '../api.js';
import type { Paged } from '../../views/types.js';

export interface Column<T> {
  key: string;
  label: string;
  render: (row: T) => ComponentChild;
  numeric?: boolean;
  /** Not every column sorts (lists of badges); the API knows which keys it sorts by. */
  sortable?: boolean;
}

export interface Filter {
  key: string;
  label: string;
}

export interface TableProps<T> {
  /** The view under /api/v1/views/. */
  view: string;
  title: string;
  columns: Column<T>[];
  filters?: Filter[];
  /** Filters fixed by the page (a node's pods); not shown as menus. */
  fixed?: Record<string, string>;
  /** Start values from the route (#/findings?product=...). */
  initial?: Record<string, string>;
  /** Extra query parameters (a period). */
  extra?: Record<string, string | undefined>;
  rowKey: (row: T) => string;
  pageSize?: number;
  description?: ComponentChild;
}

let counter = 0;

/**
 * A table of one read-API view: search, a menu per filter, sortable columns, pages, and a CSV
 * download of every row the search and filters select. All of it is done by the API, so a
 * 10,000-pod cluster costs the browser one page of rows.
 */
export function Table<T>(props: TableProps<T>) {
  const id = useRef(`t${++counter}`).current;
  const init = props.initial ?? {};
  const [q, setQ] = useState(init.q ?? '');
  const [typed, setTyped] = useState(init.q ?? '');
  const [filters, setFilters] = useState<Record<string, string>>(() => Object.fromEntries((props.filters ?? []).map((f) => [f.key, init[f.key] ?? ''])));
  const [sort, setSort] = useState<string | undefined>(init.sort);
  const [order, setOrder] = useState<'asc' | 'desc' | undefined>(init.order === 'desc' ? 'desc' : init.order === 'asc' ? 'asc' : undefined);
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(props.pageSize ?? 25);
  const [data, setData] = useState<Paged<T> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState('');

  useEffect(() => {
    const t = setTimeout(() => {
      setQ(typed);
      setPage(1);
    }, 250);
    return () => clearTimeout(t);
  }, [typed]);

  const params = { ...props.extra, ...filters, ...props.fixed, q, sort, order, page, pageSize };
  const paramKey = JSON.stringify(params);
  useEffect(() => {
    let live = true;
    getJson<Paged<T>>(`/api/v1/views/${props.view}`, params)
      .then((d) => live && (setData(d), setError(null)))
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [paramKey]);

  // From the asked-for sort (not the last answer), so two quick presses toggle twice.
  const sortBy = (key: string) => {
    const current = sort ?? data?.sort;
    const currentOrder = order ?? data?.order ?? 'asc';
    if (current === key) setOrder(currentOrder === 'asc' ? 'desc' : 'asc');
    else {
      setSort(key);
      setOrder('asc');
    }
    setPage(1);
  };
  const csv = async () => {
    try {
      const name = await download(`/api/v1/views/${props.view}`, { ...props.extra, ...filters, ...props.fixed, q, sort: data?.sort, order: data?.order, format: 'csv' });
      setNote(`Downloaded ${name}`);
    } catch (e) {
      setNote(`Download failed: ${(e as Error).message}`);
    }
  };

  const facets = data?.facets ?? {};
  const shown = data ? `${data.total === 0 ? 0 : (data.page - 1) * data.pageSize + 1}–${Math.min(data.page * data.pageSize, data.total)} of ${data.total}` : 'loading';
  return (
    <section class="table-block" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>{props.title}</h2>
      {props.description && <p class="muted">{props.description}</p>}
      <div class="toolbar" role="search" aria-label={`Search and filter ${props.title}`}>
        <label>
          <span>Search</span>
          <input type="search" value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} aria-controls={`${id}-table`} data-role="search" />
        </label>
        {(props.filters ?? []).map((f) => (
          <label key={f.key}>
            <span>{f.label}</span>
            <select
              value={filters[f.key]}
              data-filter={f.key}
              onChange={(e) => {
                setFilters({ ...filters, [f.key]: (e.target as HTMLSelectElement).value });
                setPage(1);
              }}
            >
              <option value="">all</option>
              {(facets[f.key] ?? []).map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          </label>
        ))}
        <button type="button" class="secondary" onClick={csv} data-role="csv">
          Download CSV
        </button>
      </div>
      <p class="count" aria-live="polite" id={`${id}-count`}>
        {error ? <span class="error">{error}</span> : `Rows ${shown}`} {note && <span class="muted"> · {note}</span>}
      </p>
      <div class="scroll" role="region" aria-labelledby={`${id}-h`} tabIndex={0}>
        <table id={`${id}-table`} data-view={props.view}>
          <thead>
            <tr>
              {props.columns.map((c) => {
                const active = data?.sort === c.key;
                return (
                  <th key={c.key} scope="col" class={c.numeric ? 'num' : undefined} aria-sort={active ? (data!.order === 'asc' ? 'ascending' : 'descending') : undefined}>
                    {c.sortable === false ? (
                      c.label
                    ) : (
                      <button type="button" class="sort" onClick={() => sortBy(c.key)} data-sort={c.key}>
                        {c.label}
                        <span aria-hidden="true" class="arrow">{active ? (data!.order === 'asc' ? '▲' : '▼') : '↕'}</span>
                      </button>
                    )}
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {(data?.items ?? []).map((row) => (
              <tr key={props.rowKey(row)}>
                {props.columns.map((c) => (
                  <td key={c.key} class={c.numeric ? 'num' : undefined} data-col={c.key}>
                    {c.render(row)}
                  </td>
                ))}
              </tr>
            ))}
            {data && data.items.length === 0 && (
              <tr>
                <td colSpan={props.columns.length} class="muted">
                  Nothing matches.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {data && data.pages > 1 && (
        <nav class="pager" aria-label={`Pages of ${props.title}`}>
          <button type="button" class="secondary" disabled={data.page <= 1} onClick={() => setPage(data.page - 1)}>
            Previous
          </button>
          <span>
            Page {data.page} of {data.pages}
          </span>
          <button type="button" class="secondary" disabled={data.page >= data.pages} onClick={() => setPage(data.page + 1)}>
            Next
          </button>
          <label>
            <span>Rows per page</span>
            <select value={String(pageSize)} onChange={(e) => (setPageSize(Number((e.target as HTMLSelectElement).value)), setPage(1))}>
              {[25, 50, 100, 250].map((n) => (
                <option key={n} value={String(n)}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        </nav>
      )}
    </section>
  );
}
