import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/**
 * The dashboard page: a static bundle that scripts/build.mjs writes to dist/ui/ (users run no
 * build step). Two folders up from this module is the package root from src/server/,
 * dist/server/ and dist/cli-bundle/ alike.
 */
export function defaultUiDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'ui');
}

/**
 * The page shell holds no data (every figure comes from the read API, behind authentication),
 * so it and its assets are served to anyone; the content security policy allows nothing but
 * this server's own script, styles and API.
 */
export const pageCsp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export async function registerPage(app: FastifyInstance, dir: string): Promise<void> {
  const index = join(dir, 'index.html');
  const built = existsSync(index);
  const html = built ? readFileSync(index) : null;
  app.get('/', async (_req, reply) => {
    if (!html) return reply.code(503).type('text/plain').send(`the dashboard is not built (${index} is missing): run npm run build\n`);
    return reply.type('text/html; charset=utf-8').header('content-security-policy', pageCsp).header('referrer-policy', 'no-referrer').send(html);
  });
  if (!built) return;
  const { default: fastifyStatic } = await import('@fastify/static');
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/ui/',
    index: false,
    wildcard: true,
    decorateReply: false,
    // The bundle changes with each build; the ETag lets a browser keep it until then.
    cacheControl: true,
    maxAge: 0,
  });
}
