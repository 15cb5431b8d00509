/** The router as a real process (`lmj-edge router`), for end-to-end tests. Requires `npm run build`. */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, ROOT, assertBuilt, killWhenTestEnds } from './daemon.js';

/** A running `lmj-edge router` process. */
export interface RouterProc {
  url: string;
  proc: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<unknown>;
}

/** Starts `lmj-edge router` (2 nodes, fast durability unless asked) on `port`; SIGKILLed when the test ends. */
export async function startRouterProcess(dataDir: string, port: number, tokens: string, durability: 'fast' | 'safe' = 'fast'): Promise<RouterProc> {
  assertBuilt();
  const proc = spawn(
    process.execPath,
    [CLI, 'router', '--data', dataDir, '--http-port', String(port), '--tokens', tokens, '--nodes', '2', '--durability', durability, '--log-level', 'warn'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  killWhenTestEnds(proc);
  const exited = new Promise((res) => proc.once('exit', res));
  let out = '';
  let err = '';
  proc.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (/^router listening on /m.test(out)) resolve();
    });
    void exited.then(() => reject(new Error(`router exited: ${err}`)));
    setTimeout(() => reject(new Error(`router not ready: ${out} ${err}`)), 20_000).unref();
  });
  const r: RouterProc = {
    url: `http://127.0.0.1:${port}`,
    proc,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
  return r;
}

