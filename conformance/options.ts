// runConformance's options (the CLI flags as data) and their checking: anything unusable here is a
// UsageError (exit 2) before a single request is sent.
import { randomInt } from 'node:crypto';
import type { ConformanceCase } from './case.js';
import { loadAgentsFile, parseAgentsFile, type AgentsFile } from './agents.js';
import { loadBaseline, parseBaseline, type Baseline } from './baseline.js';
import { UsageError } from './errors.js';
import { isReporterName, REPORTER_NAMES, TRANSCRIPT_POLICIES, type Reporter, type ReporterName, type TranscriptPolicy } from './reporters/reporter.js';
import { isLevelOption, parsePatterns, type LevelOption } from './selection.js';
import type { EmbeddedOptions } from './embedded.js';

export interface RunOptions {
  /** Base URL of the server under test (or several of one deployment, comma-separated: calls go round-robin); absent: boot the reference server in process. */
  target?: string;
  adminKey?: string;
  /** Host the kit's http receivers listen on and advertise (default 127.0.0.1). */
  receiverHost?: string;
  /** Glob patterns on case IDs, e.g. `IDEM-*` (a string may hold several, comma-separated). */
  only?: string | string[];
  skip?: string | string[];
  /** Lowest level that runs (default should: MUST and SHOULD). */
  level?: LevelOption;
  seed?: number;
  timeoutScale?: number;
  /** Path of an agents file (schemas/agents-file.schema.json) or its parsed content. */
  agents?: string | AgentsFile;
  /** Path of a baseline file, or the known-failing case IDs. */
  baseline?: string | string[] | Record<string, string>;
  /** Reporter names or objects; default none (the caller reads the result). */
  reporters?: Array<ReporterName | Reporter>;
  /** Where file reporters write (default ./conformance-report). */
  outDir?: string;
  /** Print every case's transcript on the console reporter. */
  trace?: boolean;
  /** Transcripts the file reports keep: `failing` (default: whole for every case but a passing one, which is summarised) or `all`. */
  transcripts?: TranscriptPolicy;
  /** Run these cases instead of the registry's (own cases, tests). */
  cases?: ConformanceCase[];
  /** Cases run at once (default 1: sequential and deterministic). */
  concurrency?: number;
  /** Options for the embedded reference server (only without target). */
  embedded?: EmbeddedOptions;
}

export interface ResolvedOptions {
  target?: string;
  adminKey?: string;
  receiverHost: string;
  only: string[];
  skip: string[];
  level: LevelOption;
  seed: number;
  timeoutScale: number;
  agents?: AgentsFile;
  baseline: Baseline;
  reporters: Array<ReporterName | Reporter>;
  outDir: string;
  trace: boolean;
  transcripts: TranscriptPolicy;
  cases?: ConformanceCase[];
  concurrency: number;
  embedded?: EmbeddedOptions;
}

/** One URL, or several URLs of one deployment comma-separated (issue 11). */
function checkTarget(target: string): string {
  const urls = target.split(',').map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) throw new UsageError('--target is empty');
  return urls.map(checkOneTarget).join(',');
}

function checkOneTarget(target: string): string {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new UsageError(`--target ${target} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--target must be http(s), got ${url.protocol}`);
  return target.replace(/\/+$/, '');
}

export async function resolveOptions(options: RunOptions): Promise<ResolvedOptions> {
  const level = options.level ?? 'should';
  if (!isLevelOption(level)) throw new UsageError(`--level must be must, should or may, got ${String(level)}`);
  const timeoutScale = options.timeoutScale ?? 1;
  if (!Number.isFinite(timeoutScale) || timeoutScale <= 0) throw new UsageError(`--timeout-scale must be a positive number, got ${timeoutScale}`);
  const seed = options.seed ?? randomInt(0, 2 ** 31 - 1);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got ${seed}`);
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16) throw new UsageError(`concurrency must be 1..16, got ${concurrency}`);
  for (const r of options.reporters ?? []) {
    if (typeof r === 'string' && !isReporterName(r)) throw new UsageError(`unknown reporter ${r} (${REPORTER_NAMES.join(', ')})`);
  }
  const transcripts = options.transcripts ?? 'failing';
  if (!TRANSCRIPT_POLICIES.includes(transcripts)) throw new UsageError(`--transcripts must be ${TRANSCRIPT_POLICIES.join(' or ')}, got ${String(transcripts)}`);
  const baseline =
    options.baseline === undefined ? new Map<string, string>()
    : typeof options.baseline === 'string' ? await loadBaseline(options.baseline)
    : parseBaseline(Array.isArray(options.baseline) ? options.baseline : { known_failures: options.baseline });
  const agents =
    options.agents === undefined ? undefined
    : typeof options.agents === 'string' ? await loadAgentsFile(options.agents)
    : parseAgentsFile(options.agents);
  return {
    target: options.target === undefined ? undefined : checkTarget(options.target),
    adminKey: options.adminKey,
    receiverHost: options.receiverHost ?? '127.0.0.1',
    only: parsePatterns(options.only),
    skip: parsePatterns(options.skip),
    level,
    seed,
    timeoutScale,
    agents,
    baseline,
    reporters: options.reporters ?? [],
    outDir: options.outDir ?? 'conformance-report',
    trace: options.trace ?? false,
    transcripts,
    cases: options.cases,
    concurrency,
    embedded: options.embedded,
  };
}
