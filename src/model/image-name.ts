/**
 * Image names as docker writes them: [HOST[:PORT]/]REPO[:TAG][@DIGEST]. One place for taking them
 * apart (the registry source adds docker's host and Docker Hub rules on top: sources/registry.ts).
 */

/** Splits a NAME[:TAG][@DIGEST] reference (host part kept). */
export function splitImageName(name: string): { repo: string; tag?: string; digest?: string } {
  let rest = name;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { repo: rest, tag, digest };
}

/** The name without tag and digest: "nvcr.io/nim/llama3:1.0@sha256:…" → "nvcr.io/nim/llama3". */
export function repository(name: string): string {
  return splitImageName(name).repo;
}

/** The name pinned to a digest: "redis:7" + "sha256:…" → "redis@sha256:…". */
export function withDigest(name: string, digest: string): string {
  return `${repository(name)}@${digest}`;
}

/** The name without its digest: "redis:7@sha256:…" → "redis:7". */
export function withoutDigest(name: string): string {
  return splitImageName(name).digest === undefined ? name : name.slice(0, name.indexOf('@'));
}

/** "nvcr.io/nim/meta/llama3:1.0@sha256:.." → "nvcr.io/nim/meta/llama3"; docker.io/library/ dropped (how users write Hub names). */
export function imageRepository(ref: string): string {
  return repository(ref.trim()).replace(/^docker\.io\//, '').replace(/^index\.docker\.io\//, '').replace(/^library\//, '');
}
