import { describeError } from '../errors.js';
import { log } from '../log.js';
import type { AdmissionResponse } from './admission.js';
import type { AdmissionPolicy } from './policy.js';

/**
 * What the store says about one pod. `over`: for every entitlement it would take over, a message
 * with the figure, the entitlement and the headroom left (store/headroom.ts); [] when it fits.
 * `notes`: warnings whatever the policy's mode (IBM's 90-day rule).
 */
export type LicenceCheck = (pod: Record<string, unknown>, namespace: string) => Promise<{ over: string[]; notes: string[] }>;

/** How long a review may wait for the store; the API server's webhook deadline is 10 s at most. */
export const LICENCE_BUDGET_MS = 1_000;

/**
 * Licence-aware admission (issue 14): a pod being created that would take a figure over its
 * entitlement is denied or warned as the policy's mode says. Answered from the store's current
 * figures, never by scanning, and within a budget: a store that is slow or down leaves the answer
 * as it was, with a warning that the headroom was not checked.
 */
export async function withLicenceHeadroom(
  answer: AdmissionResponse,
  request: { operation?: string; namespace?: string; object?: unknown } | undefined,
  check: LicenceCheck,
  policy: AdmissionPolicy,
  budgetMs = LICENCE_BUDGET_MS,
): Promise<AdmissionResponse> {
  const pod = request?.object as Record<string, any> | undefined;
  // Only a new pod adds to a figure; an update of a running one is already counted.
  if (!answer.response.allowed || !pod || typeof pod !== 'object' || (request?.operation && request.operation !== 'CREATE')) return answer;
  const namespace = request?.namespace ?? pod.metadata?.namespace ?? 'default';
  if (policy.excludeNamespaces.includes(namespace)) return answer;
  let timer: NodeJS.Timeout | undefined;
  const late = Symbol('late');
  let found: { over: string[]; notes: string[] } | typeof late;
  try {
    found = await Promise.race([check(pod, namespace), new Promise<typeof late>((resolve) => (timer = setTimeout(() => resolve(late), budgetMs)))]);
  } catch (err) {
    // The detail (a database address, say) goes to the log, not to whoever creates the pod.
    log.warn({ err: describeError(err), namespace }, 'licence headroom not checked');
    return addWarnings(answer, ['kensus: licence headroom not checked: the store could not be read (the kensus log says why)']);
  } finally {
    clearTimeout(timer);
  }
  if (found === late) {
    log.warn({ namespace, budgetMs }, 'licence headroom not checked: the store did not answer in time');
    return addWarnings(answer, [`kensus: licence headroom not checked: the store did not answer within ${budgetMs} ms`]);
  }
  const { over, notes } = found;
  if (over.length && policy.mode === 'deny') {
    const denied = { ...answer, response: { ...answer.response, allowed: false, status: { code: 403, reason: 'Forbidden', message: over.join('; ') } } };
    return notes.length ? addWarnings(denied, notes) : denied;
  }
  return over.length || notes.length ? addWarnings(answer, [...over, ...notes]) : answer;
}

function addWarnings(answer: AdmissionResponse, warnings: string[]): AdmissionResponse {
  return { ...answer, response: { ...answer.response, warnings: [...(answer.response.warnings ?? []), ...warnings] } };
}
