import { randomUUID } from 'node:crypto';
import { alreadyExists, notFound, conflict, statusError } from './apierrors.js';

export type KObject = Record<string, any>;

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KObject;
  /** Storage key of the resource type, `group/plural`. */
  resource: string;
  rv: number;
}

type Listener = (e: WatchEvent) => void;


/**
 * Objects of every type, keyed by `group/plural` then `namespace/name`, with one global
 * resourceVersion counter like etcd's revision, and a bounded event history so a watch can
 * resume from a resourceVersion (or get 410 Gone when it is too old).
 */
export class Store {
  private rv = 1;
  private readonly data = new Map<string, Map<string, KObject>>();
  private readonly history: WatchEvent[] = [];
  private readonly listeners = new Set<Listener>();

  constructor(private readonly historySize = 5000) {}

  get resourceVersion(): string {
    return String(this.rv);
  }

  private bucket(resource: string): Map<string, KObject> {
    let b = this.data.get(resource);
    if (!b) this.data.set(resource, (b = new Map()));
    return b;
  }

  private emit(type: WatchEvent['type'], resource: string, object: KObject): void {
    const e: WatchEvent = { type, object, resource, rv: this.rv };
    this.history.push(e);
    if (this.history.length > this.historySize) this.history.splice(0, this.history.length - this.historySize);
    for (const l of this.listeners) l(e);
  }

  get(resource: string, ns: string, name: string): KObject | undefined {
    const o = this.data.get(resource)?.get(`${ns}/${name}`);
    return o === undefined ? undefined : structuredClone(o);
  }

  list(resource: string, ns?: string): KObject[] {
    const b = this.data.get(resource);
    if (!b) return [];
    const items = [...b.values()].filter((o) => ns === undefined || (o.metadata?.namespace ?? '') === ns);
    items.sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
    return items.map((o) => structuredClone(o));
  }

  create(resource: string, obj: KObject): KObject {
    const [group, plural] = splitResource(resource);
    const md = obj.metadata;
    const key = `${md.namespace ?? ''}/${md.name}`;
    const b = this.bucket(resource);
    if (b.has(key)) throw alreadyExists(group, plural, md.name);
    this.rv++;
    md.uid ??= randomUUID();
    md.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    md.resourceVersion = String(this.rv);
    if (md.generation === undefined && plural !== 'pods' && plural !== 'events') md.generation = 1;
    b.set(key, structuredClone(obj));
    this.emit('ADDED', resource, structuredClone(obj));
    return obj;
  }

  /** Replaces an object; a resourceVersion in the new object must match (optimistic concurrency). */
  update(resource: string, obj: KObject): KObject {
    const [group, plural] = splitResource(resource);
    const md = obj.metadata;
    const key = `${md.namespace ?? ''}/${md.name}`;
    const b = this.bucket(resource);
    const old = b.get(key);
    if (!old) throw notFound(group, plural, md.name);
    if (md.resourceVersion && md.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(group, plural, md.name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    if (md.uid && md.uid !== old.metadata.uid) throw statusError(409, 'Conflict', `Precondition failed: UID in precondition: ${md.uid}, UID in object meta: ${old.metadata.uid}`);
    this.rv++;
    md.uid = old.metadata.uid;
    md.creationTimestamp = old.metadata.creationTimestamp;
    md.resourceVersion = String(this.rv);
    if (old.metadata.generation !== undefined && JSON.stringify(old.spec) !== JSON.stringify(obj.spec)) md.generation = old.metadata.generation + 1;
    else if (old.metadata.generation !== undefined) md.generation = old.metadata.generation;
    b.set(key, structuredClone(obj));
    this.emit('MODIFIED', resource, structuredClone(obj));
    return obj;
  }

  delete(resource: string, ns: string, name: string): KObject {
    const [group, plural] = splitResource(resource);
    const b = this.bucket(resource);
    const key = `${ns}/${name}`;
    const old = b.get(key);
    if (!old) throw notFound(group, plural, name);
    b.delete(key);
    this.rv++;
    old.metadata.resourceVersion = String(this.rv);
    this.emit('DELETED', resource, structuredClone(old));
    return old;
  }

  /** Events after `rv`, or undefined when the history no longer reaches back that far. */
  since(rv: number): WatchEvent[] | undefined {
    if (rv >= this.rv) return [];
    const first = this.history[0];
    if (first && first.rv > rv + 1 && this.history.length >= this.historySize) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

export function splitResource(resource: string): [string, string] {
  const i = resource.lastIndexOf('/');
  return [resource.slice(0, i), resource.slice(i + 1)];
}

export function resourceKey(group: string, plural: string): string {
  return `${group}/${plural}`;
}
