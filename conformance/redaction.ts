// Credentials never reach a report: every admin key, agent key and webhook secret the kit knows or
// receives is replaced by a placeholder the reader fills in (`$AXP_ADMIN_KEY`), matched as a whole
// token so that a short secret does not rewrite every word that happens to contain it.

/** Characters a key or secret token is made of; an occurrence counts only between other characters. */
const TOKEN_CHAR = /[A-Za-z0-9_-]/;
/**
 * Secrets of token characters at least this long (generated keys and secrets) are found by one
 * scan over the text's long tokens; shorter ones (a hand-picked admin key) one by one.
 */
const SCAN_MIN = 12;
const LONG_TOKEN_RUN = new RegExp(`[A-Za-z0-9_-]{${SCAN_MIN},}`, 'g');

function isTokenChar(ch: string | undefined): boolean {
  return ch !== undefined && TOKEN_CHAR.test(ch);
}

/** Start offsets of the whole-token occurrences of `token` in `text`. */
export function tokenOffsets(text: string, token: string): number[] {
  const found: number[] = [];
  if (token.length === 0) return found;
  for (let at = text.indexOf(token); at !== -1; at = text.indexOf(token, at + 1)) {
    const before = at === 0 ? undefined : text[at - 1];
    const after = text[at + token.length];
    // Boundaries only matter where the token itself starts or ends with a token character.
    const startOk = !isTokenChar(token[0]) || !isTokenChar(before);
    const endOk = !isTokenChar(token[token.length - 1]) || !isTokenChar(after);
    if (startOk && endOk) found.push(at);
  }
  return found;
}

/** Whether `text` holds `token` as a whole token (`k` is not in `unknown API key`; it is in `key: k`). */
export function containsToken(text: string, token: string): boolean {
  return tokenOffsets(text, token).length > 0;
}

/** Replaces every whole-token occurrence of `token` in `text` by `placeholder`. */
export function replaceToken(text: string, token: string, placeholder: string): string {
  const offsets = tokenOffsets(text, token);
  if (offsets.length === 0) return text;
  let out = '';
  let from = 0;
  for (const at of offsets) {
    if (at < from) continue; // overlapping occurrence of a self-overlapping token
    out += text.slice(from, at) + placeholder;
    from = at + token.length;
  }
  return out + text.slice(from);
}

/**
 * The credentials of one run, each with its placeholder. Long secrets made only of token characters
 * (API keys, base64url secrets) are found by one scan over the text's long tokens; others one by one.
 */
export class SecretSet {
  private readonly simple = new Map<string, string>();
  private readonly other = new Map<string, string>();
  private readonly placeholders = new Set<string>();
  private otherSorted: Array<[string, string]> | undefined;

  /**
   * Adds a secret under `placeholder`, or `placeholder_2`, `_3`… when another secret has it (a
   * rotated key keeps the agent's name); the first placeholder given for a secret stays. Empty
   * values are ignored.
   */
  add(secret: string | undefined, placeholder: string): void {
    if (!secret || this.has(secret)) return;
    let name = placeholder;
    for (let n = 2; this.placeholders.has(name); n++) name = `${placeholder}_${n}`;
    this.placeholders.add(name);
    placeholder = name;
    const variants = new Set([secret, encodeURIComponent(secret)]);
    for (const value of variants) {
      const map = value.length >= SCAN_MIN && /^[A-Za-z0-9_-]+$/.test(value) ? this.simple : this.other;
      if (!map.has(value)) map.set(value, placeholder);
    }
    this.otherSorted = undefined;
  }

  has(secret: string): boolean {
    return this.simple.has(secret) || this.other.has(secret);
  }

  get size(): number {
    return this.simple.size + this.other.size;
  }

  /** Every known secret (for leak checks). */
  values(): string[] {
    return [...this.simple.keys(), ...this.other.keys()];
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a secret containing another is replaced whole.
    this.otherSorted ??= [...this.other].sort((a, b) => b[0].length - a[0].length);
    for (const [secret, placeholder] of this.otherSorted) out = replaceToken(out, secret, placeholder);
    if (this.simple.size > 0) out = out.replace(LONG_TOKEN_RUN, (token) => this.simple.get(token) ?? token);
    return out;
  }

  /** A deep copy of `value` with every string redacted (object keys included). */
  redactValue<T>(value: T): T {
    if (this.size === 0) return value;
    return this.walk(value, new WeakMap()) as T;
  }

  private walk(value: unknown, seen: WeakMap<object, unknown>): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return seen.get(value);
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      seen.set(value, out);
      for (const item of value) out.push(this.walk(item, seen));
      return out;
    }
    if (value instanceof Error) {
      const copy = new Error(this.redact(value.message));
      copy.name = value.name;
      if (value.stack) copy.stack = this.redact(value.stack);
      return copy;
    }
    const out: Record<string, unknown> = {};
    seen.set(value, out);
    for (const [key, item] of Object.entries(value)) out[this.redact(key)] = this.walk(item, seen);
    return out;
  }
}

/** Shell-variable placeholder for a label (`sender 2` → `$AXP_AGENT_KEY_SENDER_2`). */
export function placeholder(prefix: string, label?: string): string {
  const suffix = label ? `_${label.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '')}` : '';
  return `$${prefix}${suffix}`;
}
