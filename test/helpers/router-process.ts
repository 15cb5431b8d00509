/**
 * Starts the compiled cloud router (`lmj-edge router …`) as a real child process on a
 * free loopback port and waits for its "router listening" line. Requires `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, ROOT, assertBuilt, killWhenTestEnds } from './daemon.js';
import { freePort } from './free-port.js';

/** A running router process. */
export interface RouterProcess {
  url: string;
  proc: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<unknown>;
}

/** `lmj-edge router --data DIR --tokens FILE --nodes 2` on a free port. */
export async function startRouterProcess(dataDir: string, tokensFile: string): Promise<RouterProcess> {
  assertBuilt();
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [CLI, 'router', '--data', dataDir, '--http-port', String(port), '--tokens', tokensFile, '--nodes', '2', '--log-level', 'warn'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  killWhenTestEnds(proc);
  const exited = new Promise((res) => proc.once('exit', res));
  let out = '';
  let err = '';
  proc.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      proc.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
        if (/^router listening on /m.test(out)) resolve();
      });
      void exited.then(() => reject(new Error(`router exited: ${err}`)));
      setTimeout(() => reject(new Error(`router not ready: ${out} ${err}`)), 20_000).unref();
    });
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    proc,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
