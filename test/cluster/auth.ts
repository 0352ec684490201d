import { randomBytes } from 'node:crypto';
import { statusError, type ApiError } from './apierrors.js';

/** One RBAC-like rule; '*' matches anything. `namespaces` absent means every namespace and cluster scope. */
export interface Rule {
  verbs: string[];
  /** Resource names as RBAC writes them, subresources included: `pods`, `pods/exec`. */
  resources: string[];
  apiGroups?: string[];
  namespaces?: string[];
  /** As RBAC's resourceNames: only these objects. A create or a list has no name, so it never matches. */
  resourceNames?: string[];
}

export interface User {
  name: string;
  groups?: string[];
  token: string;
  /** Absent: cluster-admin. */
  rules?: Rule[];
}

export interface Attributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function authenticate(users: User[], header: string | undefined): User | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) return undefined;
  return users.find((u) => u.token === m[1]);
}

const hit = (list: string[] | undefined, v: string) => list === undefined || list.includes('*') || list.includes(v);

export function allowed(user: User, a: Attributes): boolean {
  if (!user.rules) return true;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return user.rules.some((r) =>
    hit(r.verbs, a.verb) && hit(r.resources, res) && hit(r.apiGroups, a.group) &&
    (r.resourceNames === undefined || r.resourceNames.length === 0 || (a.name !== undefined && r.resourceNames.includes(a.name))) &&
    (r.namespaces === undefined || (a.namespace !== undefined && a.namespace !== '' && r.namespaces.includes(a.namespace))));
}

/** The apiserver's RBAC denial text, word for word, so clients' error handling sees the real thing. */
export function forbidden(user: User, a: Attributes): ApiError {
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const gr = a.group ? `${a.resource}.${a.group}` : a.resource;
  const subject = a.name ? `${gr} "${a.name}"` : gr;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  const msg = `${subject} is forbidden: User "${user.name}" cannot ${a.verb} resource "${res}" in API group "${a.group}" ${scope}`;
  const details: Record<string, unknown> = { kind: a.resource };
  if (a.name) details.name = a.name;
  if (a.group) details.group = a.group;
  return statusError(403, 'Forbidden', msg, details);
}
