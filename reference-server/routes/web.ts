// Web pages outside the API table: GET /inbox, the human side of the inbox binding as one static
// HTML file (inline CSS and script, no build step). The page calls the same /v1/inbox routes with
// the key a person types in; it needs no key to be fetched. Its inline script and style are
// allowed by hash in a strict Content-Security-Policy, so nothing else can run on the page.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

export const INBOX_PAGE_PATH = '/inbox';

function inlineHash(html: string, tag: 'script' | 'style'): string {
  const body = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html)?.[1] ?? '';
  return `'sha256-${createHash('sha256').update(body).digest('base64')}'`;
}

/** Read once at start: from reference-server/web/ in the source tree, dist/reference-server/web/ when built. */
export function loadInboxPage(): { html: string; csp: string } {
  const html = readFileSync(new URL('../web/inbox.html', import.meta.url), 'utf8');
  const csp = [
    "default-src 'none'", `script-src ${inlineHash(html, 'script')}`, `style-src ${inlineHash(html, 'style')}`,
    "connect-src 'self'", "img-src 'self' data:", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

export function webPages(app: FastifyInstance): void {
  const page = loadInboxPage();
  app.get(INBOX_PAGE_PATH, async (_req, reply) => {
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', page.csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-store');
    return page.html;
  });
}
