import { csvTable, type Cell } from '../../report/csv.js';
import type { Paged, SortOrder } from './types.js';

/** One column of a view's table: its key (the `sort` value), its CSV header and its value. */
export interface Column<T> {
  key: string;
  label: string;
  value: (row: T) => Cell;
}

/** How a view's rows are searched, filtered, sorted and written as CSV. */
export interface TableSpec<T> {
  columns: Column<T>[];
  /** Filter name (a query parameter) → the values a row has for it (a row may have several). */
  filters: Record<string, (row: T) => string[]>;
  /** The text `q` searches in (case-insensitive substring). */
  search: (row: T) => string;
  defaultSort: string;
  defaultOrder?: SortOrder;
}

export interface TableQuery {
  q?: string;
  sort?: string;
  order?: SortOrder;
  page?: number;
  pageSize?: number;
  /** Filter name → wanted value; empty or absent means no filter. */
  filters?: Record<string, string | undefined>;
}

export const maxPageSize = 500;

const empty = (v: Cell) => v === null || v === undefined || v === '';

function compare(a: Cell, b: Cell): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en', { numeric: true, sensitivity: 'base' });
}

/** Rows after `q` and the filters, sorted; what both a page and the CSV download show. */
export function selectRows<T>(rows: T[], spec: TableSpec<T>, query: TableQuery): { rows: T[]; sort: string; order: SortOrder } {
  const q = query.q?.trim().toLowerCase();
  const active = Object.entries(query.filters ?? {}).filter(([k, v]) => v && spec.filters[k]) as Array<[string, string]>;
  const picked = rows.filter((r) => (!q || spec.search(r).toLowerCase().includes(q)) && active.every(([k, v]) => spec.filters[k](r).includes(v)));
  const column = spec.columns.find((c) => c.key === query.sort) ?? spec.columns.find((c) => c.key === spec.defaultSort)!;
  const order = query.order ?? (query.sort ? 'asc' : (spec.defaultOrder ?? 'asc'));
  const sign = order === 'desc' ? -1 : 1;
  const keyed = picked.map((row, i) => ({ row, i, v: column.value(row) }));
  keyed.sort((x, y) => {
    // Empty cells sort last in either order, so "unknown" never hides the top of a list.
    if (empty(x.v) || empty(y.v)) return empty(x.v) === empty(y.v) ? x.i - y.i : empty(x.v) ? 1 : -1;
    return sign * compare(x.v, y.v) || x.i - y.i;
  });
  return { rows: keyed.map((k) => k.row), sort: column.key, order };
}

/**
 * The values each filter menu offers: those of the rows the search and the other filters
 * leave (a node's pods offer that node's namespaces), so no choice leads to an empty table.
 */
export function facetsOf<T>(rows: T[], spec: TableSpec<T>, query: TableQuery = {}): Record<string, string[]> {
  const q = query.q?.trim().toLowerCase();
  const searched = q ? rows.filter((r) => spec.search(r).toLowerCase().includes(q)) : rows;
  const active = Object.entries(query.filters ?? {}).filter(([k, v]) => v && spec.filters[k]) as Array<[string, string]>;
  const out: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(spec.filters)) {
    const others = active.filter(([k]) => k !== name);
    const set = new Set<string>();
    for (const r of searched) {
      if (!others.every(([k, v]) => spec.filters[k](r).includes(v))) continue;
      for (const v of values(r)) if (v !== '') set.add(v);
    }
    out[name] = [...set].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  }
  return out;
}

/** One page of a view's table, with the total after filtering and the filter menus. */
export function pageOf<T>(rows: T[], spec: TableSpec<T>, query: TableQuery): Paged<T> {
  const { rows: selected, sort, order } = selectRows(rows, spec, query);
  const pageSize = Math.min(Math.max(1, query.pageSize ?? 50), maxPageSize);
  const pages = Math.max(1, Math.ceil(selected.length / pageSize));
  const page = Math.min(Math.max(1, query.page ?? 1), pages);
  return {
    items: selected.slice((page - 1) * pageSize, page * pageSize),
    total: selected.length,
    page,
    pageSize,
    pages,
    sort,
    order,
    facets: facetsOf(rows, spec, query),
  };
}

/** Every selected row (not one page) as CSV, the columns in the table's order. */
export function csvOf<T>(rows: T[], spec: TableSpec<T>, query: TableQuery): string {
  const { rows: selected } = selectRows(rows, spec, query);
  return csvTable(spec.columns.map((c) => c.label), selected.map((r) => spec.columns.map((c) => c.value(r))));
}
