// Child processes of the bench: the server under test and the load workers, each bounded in time.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { FromServer, FromWorker, Memory, ToServer, ToWorker, WorkerConfig, WorkerResult } from './protocol.js';

export type { Memory, Stalls } from './protocol.js';

/**
 * The child processes run as plain JavaScript, transpiled once per bench run: through tsx the
 * server spent about 40 % more CPU per lifecycle, and on two cores every load generator's CPU is
 * taken from the server under test.
 */
const CHILD_SOURCES = ['server', 'worker', 'sse', 'protocol'];
const CHILD_DIR = new URL('./.data/js/', import.meta.url);
let transpiled = false;
function childScript(name: 'server' | 'worker'): string {
  if (!transpiled) {
    mkdirSync(CHILD_DIR, { recursive: true });
    for (const source of CHILD_SOURCES) {
      const text = readFileSync(new URL(`./${source}.ts`, import.meta.url), 'utf8');
      const { outputText } = ts.transpileModule(text, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
      writeFileSync(new URL(`${source}.js`, CHILD_DIR), outputText);
    }
    transpiled = true;
  }
  return fileURLToPath(new URL(`${name}.js`, CHILD_DIR));
}
/** The reference server as it ships (dist/, built by bench/run.ts first). */
const DIST_ENTRY = new URL('../dist/reference-server/index.js', import.meta.url).href;
const children = new Set<ChildProcess>();
process.on('exit', () => { for (const child of children) child.kill('SIGKILL'); });

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}


export class ServerProc {
  private constructor(private readonly child: ChildProcess, readonly url: string) {}

  /** args: ['axp', storeSpec, adminKey] or ['bare', responseBytes]. profileName: write a .cpuprofile. */
  static async start(args: string[], profile?: { dir: string; name: string }): Promise<ServerProc> {
    const execArgv = ['--expose-gc'];
    // One directory per server: a loader thread may write its own (small) profile beside the main one.
    if (profile) execArgv.push('--cpu-prof', `--cpu-prof-dir=${profile.dir}/${profile.name}`);
    const child = track(fork(childScript('server'), args, { execArgv, env: { ...process.env, BENCH_DIST_ENTRY: DIST_ENTRY }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    const url = await within(60_000, 'server start', new Promise<string>((resolve, reject) => {
      child.on('message', (m: FromServer) => { if (m.type === 'listening') resolve(m.url); });
      child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    }));
    return new ServerProc(child, url);
  }

  /** RSS and heap after two full GCs. */
  memory(): Promise<Memory> {
    return within(30_000, 'server memory', new Promise<Memory>((resolve) => {
      const on = (m: FromServer) => { if (m.type === 'memory') { this.child.off('message', on); resolve(m); } };
      this.child.on('message', on);
      this.child.send({ type: 'memory' } satisfies ToServer);
    }));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'stop' } satisfies ToServer);
    await within(30_000, 'server stop', exited).catch(() => { this.child.kill('SIGKILL'); });
  }
}

/** --profile: each load worker writes a .cpuprofile too (its CPU is taken from the server's cores). */
let workerProfiles: { dir: string; n: number } | undefined;
export function profileWorkers(dir: string): void {
  workerProfiles = { dir, n: 0 };
}

export class WorkerProc {
  readonly result: Promise<WorkerResult>;
  private constructor(private readonly child: ChildProcess, readonly ready: Promise<void>) {
    this.result = new Promise<WorkerResult>((resolve, reject) => {
      child.on('message', (m: FromWorker) => { if (m.type === 'result') resolve(m.result); });
      child.on('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
    });
    this.result.catch(() => undefined);
  }

  static start(config: WorkerConfig): WorkerProc {
    const execArgv = workerProfiles ? ['--cpu-prof', `--cpu-prof-dir=${workerProfiles.dir}/worker-${++workerProfiles.n}-${config.role}`] : [];
    const child = track(fork(childScript('worker'), [], {
      execArgv, env: { ...process.env, BENCH_WORKER: JSON.stringify(config) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }));
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: FromWorker) => { if (m.type === 'ready') resolve(); });
      child.on('exit', (code) => reject(new Error(`worker ${config.role} exited with ${code}`)));
    });
    return new WorkerProc(child, ready);
  }

  onCredit(fn: (n: number) => void): void {
    this.child.on('message', (m: FromWorker) => { if (m.type === 'credit') fn(m.n); });
  }

  send(message: ToWorker): void {
    if (this.child.connected) this.child.send(message);
  }
}

/** Waits for every worker to be ready, starts them together, and collects their results. */
export async function runWorkers(workers: WorkerProc[], warmupMs: number, measureMs: number): Promise<WorkerResult[]> {
  await within(120_000, 'workers ready', Promise.all(workers.map((w) => w.ready)));
  for (const w of workers) w.send({ type: 'go', warmupMs, measureMs });
  return within(warmupMs + measureMs + 30_000, 'worker results', Promise.all(workers.map((w) => w.result)));
}
