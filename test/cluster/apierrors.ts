/** metav1.Status failures shaped like the real apiserver's, carried as exceptions through handlers. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: Record<string, unknown>;
  code: number;
}

export class ApiError extends Error {
  constructor(readonly body: StatusBody) {
    super(body.message);
  }
  get code(): number {
    return this.body.code;
  }
}

export function statusError(code: number, reason: string, message: string, details?: Record<string, unknown>): ApiError {
  const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) body.details = details;
  return new ApiError(body);
}

/** `pods "x" not found`; the group appears in details only when it is not the core group. */
function gr(group: string, plural: string): string {
  return group ? `${plural}.${group}` : plural;
}

export const notFound = (group: string, plural: string, name: string) =>
  statusError(404, 'NotFound', `${gr(group, plural)} "${name}" not found`, { name, ...(group ? { group } : {}), kind: plural });

export const alreadyExists = (group: string, plural: string, name: string) =>
  statusError(409, 'AlreadyExists', `${gr(group, plural)} "${name}" already exists`, { name, ...(group ? { group } : {}), kind: plural });

export const conflict = (group: string, plural: string, name: string, why: string) =>
  statusError(409, 'Conflict', `Operation cannot be fulfilled on ${gr(group, plural)} "${name}": ${why}`, { name, ...(group ? { group } : {}), kind: plural });

export interface Cause {
  reason: string;
  message: string;
  field: string;
}

export function invalid(group: string, kind: string, name: string, causes: Cause[]): ApiError {
  const list = causes.map((c) => `${c.field}: ${c.message}`);
  const joined = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return statusError(422, 'Invalid', `${kind} "${name}" is invalid: ${joined}`, { name, ...(group ? { group } : {}), kind, causes });
}

export const badRequest = (message: string) => statusError(400, 'BadRequest', message);

export const unauthorized = () => statusError(401, 'Unauthorized', 'Unauthorized');

export const methodNotAllowed = (method: string) =>
  statusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, { method });

export const internal = (message: string) =>
  statusError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
