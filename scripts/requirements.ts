// Parses the normative chapters of spec/ into the requirement registry (spec/requirements.json).
// One requirement is one Markdown list item of exactly this form, on one line:
//   - <a id="LC-004"></a>**LC-004** MUST: The server MUST ...
// The level word after the bold ID is MUST, SHOULD or MAY; "MUST NOT" / "SHOULD NOT" statements use
// the level MUST / SHOULD and say "MUST NOT" / "SHOULD NOT" in the sentence.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Level } from '../conformance/case.js';
import type { Requirement } from '../conformance/registry.js';

// The registry entry's shape is the kit's (the kit reads spec/requirements.json at run time).
export type { Level, Requirement };
export const LEVELS: readonly Level[] = ['MUST', 'SHOULD', 'MAY'];

/** Requirement areas (BRIEF.md): the part of an ID before the dash. */
export const AREAS = [
  'TERM', 'AGT', 'INT', 'IDEM', 'LC', 'EVT', 'SSE', 'DLV', 'STR', 'POLL', 'HTTP', 'INBOX', 'INTL',
  'RES', 'ERR', 'SEC', 'CAP', 'CLK', 'CLI',
] as const;

export const ID_PATTERN = /^[A-Z]+-\d{3}$/;
/** Finds requirement-ID-shaped tokens in any text; callers filter by AREAS (e.g. "SHA-256" is not one). */
export const ID_IN_TEXT = /\b([A-Z]+)-(\d{3})\b/g;

/** Chapter files: two digits, a dash, a name, `.md` (README.md is the index, not a chapter). */
export const CHAPTER_FILE = /^\d{2}-[a-z0-9-]+\.md$/;

const REQUIREMENT_LINE = /^- <a id="([A-Z]+-\d{3})"><\/a>\*\*([A-Z]+-\d{3})\*\* (MUST|SHOULD|MAY): (.+)$/;
const LOOKS_LIKE_REQUIREMENT = /^\s*[-*] <a id=/;

export class SpecFormatError extends Error {}

/** Inline Markdown reduced to plain text: links keep their label, emphasis markers go; code spans stay verbatim. */
export function plainText(markdown: string): string {
  return markdown
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith('`') ? part : part
      .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
      .replace(/\*\*([^*]+)\*\*/g, '$1')
      .replace(/(^|[^*\w])\*([^*\s][^*]*)\*(?!\w)/g, '$1$2')))
    .join('')
    .trim();
}

export function parseChapter(chapter: string, markdown: string): Requirement[] {
  const out: Requirement[] = [];
  let inFence = false;
  markdown.split(/\r?\n/).forEach((line, index) => {
    if (/^\s*```/.test(line)) inFence = !inFence;
    if (inFence) return;
    const match = REQUIREMENT_LINE.exec(line);
    if (!match) {
      if (LOOKS_LIKE_REQUIREMENT.test(line)) throw new SpecFormatError(`${chapter}:${index + 1}: malformed requirement line`);
      return;
    }
    const [, anchorId, boldId, level, body] = match;
    if (anchorId !== boldId) throw new SpecFormatError(`${chapter}:${index + 1}: anchor ${anchorId} and label ${boldId} differ`);
    out.push({ id: anchorId!, level: level as Level, chapter, anchor: `${chapter}#${anchorId}`, text: plainText(body!) });
  });
  return out;
}

export function chapterFiles(specDir: string): string[] {
  return readdirSync(specDir).filter((f) => CHAPTER_FILE.test(f)).sort();
}

/** Every requirement of every chapter, in document order (chapter by file name, then line). */
export function parseSpec(specDir: string): Requirement[] {
  return chapterFiles(specDir).flatMap((file) => parseChapter(file, readFileSync(join(specDir, file), 'utf8')));
}

/** The registry file's exact text, so a fresh generation can be compared byte for byte. */
export function serializeRegistry(requirements: readonly Requirement[]): string {
  return `${JSON.stringify(requirements, null, 2)}\n`;
}

export interface ErrorTableRow {
  code: string;
  status: number;
  meaning: string;
}

/** Rows of the error-code table in 13-errors.md: lines like "| `code` | 409 | meaning |". */
export function parseErrorTable(markdown: string): ErrorTableRow[] {
  const rows: ErrorTableRow[] = [];
  for (const line of markdown.split(/\r?\n/)) {
    const m = /^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|\s*(.*?)\s*\|\s*$/.exec(line);
    if (m) rows.push({ code: m[1]!, status: Number(m[2]), meaning: m[3]! });
  }
  return rows;
}
