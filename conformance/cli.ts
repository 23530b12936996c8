#!/usr/bin/env node
// axp-conformance: flags → runConformance → exit code. 0 every applicable MUST case passed;
// 1 a case failed or a baseline entry is stale; 2 usage error or the harness broke; 3 nothing measured.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { collect, integer, positive, reporterList } from './cli-arguments.js';
import type { ConformanceCase } from './case.js';
import { UsageError } from './errors.js';
import { coverageByRequirement, registeredCases, registryProblems, requirements } from './registry.js';
import { REPORTER_NAMES, REPORT_FILES, TRANSCRIPT_POLICIES, type ReporterName, type TranscriptPolicy } from './reporters/reporter.js';
import { runConformance } from './runner.js';
import type { LevelOption } from './selection.js';
import { kitInfo } from './version.js';
import { parseReplayFile } from './properties/index.js';
import { DEFAULT_CONCURRENCY } from './options.js';

interface CliFlags {
  target?: string;
  adminKey?: string;
  receiverHost: string;
  only?: string[];
  skip?: string[];
  level: LevelOption;
  reporter: ReporterName[];
  out: string;
  transcripts: TranscriptPolicy;
  baseline?: string;
  seed?: number;
  timeoutScale: number;
  agents?: string;
  concurrency: number;
  cases?: string;
  list?: boolean;
  coverage?: boolean;
  trace?: boolean;
  showSecrets?: boolean;
  runs?: number;
  deep?: boolean;
  replay?: string;
}

function buildProgram(): Command {
  return new Command('axp-conformance')
    .description('Checks, case by case and requirement by requirement, whether a server speaks AXP v1.\nWithout --target it boots the reference server in process and runs against it.\nTo check a client or SDK instead: axp-conformance client --command "<driver>" (axp-conformance client --help).')
    .version(kitInfo().version)
    .option('--target <url>', 'base URL of the server under test, or URL1,URL2,… of one deployment (calls spread round-robin; default: the embedded reference server)')
    .addOption(new Option('--admin-key <key>', 'the target\'s admin key (registers the kit\'s agents)').env('AXP_ADMIN_KEY'))
    .option('--receiver-host <host>', 'host the kit\'s http receivers listen on and advertise', '127.0.0.1')
    .option('--only <patterns>', 'run only cases whose ID matches a glob, comma-separated (e.g. \'IDEM-*\'); repeatable', collect)
    .option('--skip <patterns>', 'skip cases whose ID matches a glob, comma-separated; repeatable', collect)
    .addOption(new Option('--level <level>', 'lowest level to run: must, should (MUST+SHOULD) or may (all)').choices(['must', 'should', 'may']).default('should'))
    .option('--reporter <list>', `reporters, comma-separated: ${REPORTER_NAMES.join(',')}`, reporterList, ['console'] as ReporterName[])
    .option('--out <dir>', `directory for the file reports (${Object.values(REPORT_FILES).join(', ')})`, 'conformance-report')
    .addOption(new Option('--transcripts <which>', 'transcripts the file reports keep: failing (passing cases summarised) or all').choices(TRANSCRIPT_POLICIES).default('failing'))
    .option('--baseline <file>', 'known failures by case ID (JSON); a listed case that passes fails the run as stale')
    .option('--seed <n>', 'seed for the run\'s random choices (printed on every run)', integer)
    .option('--timeout-scale <f>', 'multiply every wait bound by F (slow targets, CI)', positive, 1)
    .option('--agents <file>', 'pre-provisioned agents (schemas/agents-file.schema.json) instead of registering them')
    .option('--concurrency <n>', 'cases run at once; cases that move the test clock always run alone (1: one by one)', integer, DEFAULT_CONCURRENCY)
    .option('--show-secrets', 'show API keys and webhook secrets in reports and traces instead of $AXP_… placeholders (local debugging only)')
    .addOption(new Option('--cases <module>', 'run the cases a module exports as allCases instead of the kit\'s own').hideHelp())
    .option('--runs <n>', 'generated runs per property case (PROP-*)', positive)
    .option('--deep', 'deeper property runs (PROP-*): about ten times the default runs and time budget')
    .option('--replay <file>', 'replay a failed property case from the JSON its failure printed ({"case", "seed", "path"})')
    .option('--list', 'print every case (ID, level, requirements, title) and exit')
    .option('--coverage', 'print, per requirement, the cases citing it and the forms and bounds they exercise, and exit')
    .option('--trace', 'print every case\'s transcript (requests, responses, SSE frames, receiver hits)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
}

async function loadCases(file: string): Promise<ConformanceCase[]> {
  let mod: { allCases?: unknown };
  try {
    mod = (await import(pathToFileURL(resolve(file)).href)) as { allCases?: unknown };
  } catch (err) {
    throw new UsageError(`cannot load --cases ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(mod.allCases)) throw new UsageError(`--cases ${file} does not export allCases`);
  return mod.allCases as ConformanceCase[];
}

function printList(own: ConformanceCase[] | undefined): void {
  const cases = own ?? registeredCases();
  if (!own) for (const problem of registryProblems(cases)) process.stderr.write(`registry: ${problem}\n`);
  for (const c of cases) process.stdout.write(`${c.id.padEnd(10)} ${c.level.padEnd(6)} ${c.requirements.join(',').padEnd(24)} ${c.title}\n`);
  process.stdout.write(`${cases.length} cases\n`);
}

function printCoverage(own: ConformanceCase[] | undefined): void {
  const coverage = coverageByRequirement(own ?? registeredCases());
  for (const r of requirements) {
    const c = coverage.get(r.id);
    const parts = [c ? c.cases.join(',') : '-'];
    if (c?.forms.length) parts.push(`forms: ${c.forms.join(' | ')}`);
    if (c?.bounds.length) parts.push(`bounds: ${c.bounds.join(' | ')}`);
    process.stdout.write(`${r.id.padEnd(10)} ${r.level.padEnd(6)} ${parts.join('  ')}\n`);
  }
}

async function main(argv: string[]): Promise<number> {
  // The client kit (spec/17-clients.md) has its own flags: `axp-conformance client --command ...`.
  if (argv[2] === 'client') return (await import('./clients/cli.js')).runClientCli(argv.slice(3));
  const program = buildProgram();
  try {
    program.parse(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
    throw err;
  }
  const flags = program.opts<CliFlags>();
  if (program.args.length > 0) {
    process.stderr.write(`axp-conformance: unexpected argument ${program.args.join(' ')}\n`);
    return 2;
  }
  try {
    const cases = flags.cases ? await loadCases(flags.cases) : undefined;
    if (flags.list) {
      printList(cases);
      return 0;
    }
    if (flags.coverage) {
      printCoverage(cases);
      return 0;
    }
    const replay = flags.replay ? parseReplayFile(await readFile(flags.replay, 'utf8').catch((err: Error) => { throw new UsageError(`cannot read --replay ${flags.replay}: ${err.message}`); }), flags.replay) : undefined;
    const run = await runConformance({
      cases,
      target: flags.target,
      adminKey: flags.adminKey,
      receiverHost: flags.receiverHost,
      only: replay ? [replay.case] : flags.only,
      skip: flags.skip,
      level: flags.level,
      seed: flags.seed,
      timeoutScale: flags.timeoutScale,
      agents: flags.agents,
      baseline: flags.baseline,
      reporters: flags.reporter,
      outDir: flags.out,
      transcripts: flags.transcripts,
      trace: flags.trace,
      concurrency: flags.concurrency,
      showSecrets: flags.showSecrets,
      properties: { runs: flags.runs === undefined ? undefined : Math.ceil(flags.runs), deep: flags.deep ?? false, replay },
    });
    return run.exitCode;
  } catch (err) {
    if (err instanceof UsageError) process.stderr.write(`axp-conformance: ${err.message}\n`);
    else process.stderr.write(`axp-conformance: harness error: ${(err as Error).stack ?? String(err)}\n`);
    return 2;
  }
}

function exit(code: number): void {
  process.exitCode = code;
  // Let both streams drain before leaving, whatever handles a target left open.
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv).then(exit, (err: unknown) => {
  process.stderr.write(`axp-conformance: harness error: ${(err as Error)?.stack ?? String(err)}\n`);
  exit(2);
});
