// `axp-conformance client --command "<shell command>"`: the client kit's flags → runClientConformance
// → exit code, with the server kit's meaning: 0 every applicable MUST scenario passed; 1 a scenario
// failed or a baseline entry is stale; 2 usage error, a command that cannot start, or the harness
// broke; 3 nothing measured (the program declares no role, or every scenario was skipped).
import { Command, CommanderError, Option } from 'commander';
import { collect, integer, positive, reporterList } from '../cli-arguments.js';
import { UsageError } from '../errors.js';
import { REPORTER_NAMES, TRANSCRIPT_POLICIES, type ReporterName, type TranscriptPolicy } from '../reporters/reporter.js';
import type { LevelOption } from '../selection.js';
import { kitInfo } from '../version.js';
import { runClientConformance } from './runner.js';
import { clientScenarios } from './scenarios/index.js';

interface ClientFlags {
  command?: string;
  only?: string[];
  skip?: string[];
  level: LevelOption;
  reporter: ReporterName[];
  out: string;
  baseline?: string;
  seed?: number;
  timeoutScale: number;
  list?: boolean;
  trace?: boolean;
  transcripts: TranscriptPolicy;
}

function buildProgram(): Command {
  return new Command('axp-conformance client')
    .description([
      'Checks an AXP client or SDK, scenario by scenario and requirement by requirement (spec/17-clients.md).',
      'For each scenario the kit boots the reference server behind a scripted fault layer and runs the',
      'command once with AXP_CONFORMANCE_SCENARIO, AXP_BASE_URL, AXP_API_KEY and AXP_SCENARIO_CONTEXT;',
      'the program performs the scenario with the SDK and prints what the application saw as JSON lines.',
    ].join('\n'))
    .version(kitInfo().version)
    .option('--command <shell command>', 'the driver program that runs the SDK under test (run through the shell)')
    .option('--only <patterns>', 'run only scenarios whose ID matches a glob, comma-separated (e.g. \'SEND-*\'); repeatable', collect)
    .option('--skip <patterns>', 'skip scenarios whose ID matches a glob, comma-separated; repeatable', collect)
    .addOption(new Option('--level <level>', 'lowest level to run: must, should (MUST+SHOULD) or may (all)').choices(['must', 'should', 'may']).default('should'))
    .option('--reporter <list>', `reporters, comma-separated: ${REPORTER_NAMES.join(',')}`, reporterList, ['console'] as ReporterName[])
    .option('--out <dir>', 'directory for json, junit and html reports', 'conformance-report')
    .addOption(new Option('--transcripts <which>', 'transcripts the file reports keep: failing (passing scenarios summarised) or all').choices(TRANSCRIPT_POLICIES).default('failing'))
    .option('--baseline <file>', 'known failures by scenario ID (JSON); a listed scenario that passes fails the run as stale')
    .option('--seed <n>', 'seed for the scenarios\' generated input (printed on every run)', integer)
    .option('--timeout-scale <f>', 'multiply every wait bound by F (slow SDK runtimes, CI)', positive, 1)
    .option('--list', 'print every scenario (ID, level, requirements, role, title) and exit')
    .option('--trace', 'print every scenario\'s transcript (the program\'s requests, the fault layer\'s answers, its output lines)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
}

function printList(): void {
  const scenarios = clientScenarios();
  for (const s of scenarios) process.stdout.write(`${s.id.padEnd(9)} ${s.level.padEnd(6)} ${s.requirements.join(',').padEnd(24)} ${s.role.padEnd(16)} ${s.name}: ${s.title}\n`);
  process.stdout.write(`${scenarios.length} scenarios\n`);
}

/** argv: the words after `client`. */
export async function runClientCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
    throw err;
  }
  const flags = program.opts<ClientFlags>();
  if (program.args.length > 0) {
    process.stderr.write(`axp-conformance client: unexpected argument ${program.args.join(' ')}\n`);
    return 2;
  }
  if (flags.list) {
    printList();
    return 0;
  }
  try {
    if (!flags.command) throw new UsageError('--command is required: the shell command that runs your driver program (see "Test your SDK" in the README)');
    const run = await runClientConformance({
      command: flags.command,
      only: flags.only,
      skip: flags.skip,
      level: flags.level,
      seed: flags.seed,
      timeoutScale: flags.timeoutScale,
      baseline: flags.baseline,
      reporters: flags.reporter,
      outDir: flags.out,
      trace: flags.trace,
      transcripts: flags.transcripts,
    });
    return run.exitCode;
  } catch (err) {
    if (err instanceof UsageError) process.stderr.write(`axp-conformance client: ${err.message}\n`);
    else process.stderr.write(`axp-conformance client: harness error: ${(err as Error).stack ?? String(err)}\n`);
    return 2;
  }
}
