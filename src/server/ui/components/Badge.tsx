import type { EntitlementStatus, Licence } from '../../views/types.js';

const statusText: Record<string, string> = { over: 'over', warning: 'warning', unlicensed: 'unlicensed', ok: 'ok', 'not-applicable': 'n/a', none: '—' };

/** An entitlement status in words and colour (never colour alone). */
export function Status({ status }: { status: EntitlementStatus | 'none' | null }) {
  const s = status ?? 'none';
  return <span class={`badge status-${s}`}>{statusText[s] ?? s}</span>;
}

export function LicenceBadge({ licence }: { licence: Licence }) {
  return <span class={`badge licence-${licence}`}>{licence === 'unknown' ? 'cannot tell' : licence}</span>;
}
