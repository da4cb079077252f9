// Starts Javumbo for the end-to-end tests exactly as `make run` does (devtools/run_local.py:
// its own local AWS endpoint, provisioning, migrations, the demo learner, runserver), but on
// free ports and with its var/ directory in a temporary folder, so that it never touches a
// `make run` someone else has going. Playwright calls this once (globalSetup) and stops it.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.JAVUMBO_PYTHON ?? join(ROOT, '.venv', 'bin', 'python');

// run_local keeps its state in the module-level VAR: point it at the temporary folder. And
// serve without Django's autoreloader, which would restart the server mid-test whenever
// someone edits a Python file in the checkout.
const LAUNCH = `
import sys
from pathlib import Path
import devtools.run_local as run_local

def manage(env, *args):
    if args and args[0] == "runserver":
        args = (*args, "--noreload")
    serve(env, *args)

serve = run_local.manage
run_local.manage = manage
run_local.VAR = Path(sys.argv[1])
run_local.main()
`;

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitUntilServing(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the local server exited (${server.exitCode}):\n${log()}`);
    try {
      const health = await fetch(`${url}/api/health`);
      if (health.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((wait) => setTimeout(wait, 500));
  }
  throw new Error(`the local server did not answer within 3 minutes:\n${log()}`);
}

function stop(server: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (server.exitCode !== null || server.pid === undefined) return done();
    const pid = server.pid;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal); // the group this server leads: runserver and moto with it
      } catch {
        // already gone
      }
    };
    const force = setTimeout(() => signalGroup('SIGKILL'), 15_000);
    server.once('exit', () => {
      clearTimeout(force);
      signalGroup('SIGTERM'); // anything of the group still around (runserver's reloader child)
      done();
    });
    signalGroup('SIGINT');
  });
}

export default async function startJavumbo(): Promise<() => Promise<void>> {
  const [webPort, awsPort] = [await freePort(), await freePort()];
  const varDir = mkdtempSync(join(tmpdir(), 'javumbo-e2e-'));
  let output = '';
  const server = spawn(PYTHON, ['-c', LAUNCH, join(varDir, 'var')], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DEBUG: '1',
      JAVUMBO_PORT: String(webPort),
      JAVUMBO_LOCAL_AWS_PORT: String(awsPort),
      JAVUMBO_FUZZ: '0', // intervals exactly as Anki computes them, so labels are predictable
      JAVUMBO_BCRYPT_ROUNDS: '4',
      JAVUMBO_REGISTER_PER_ADDRESS: '1000',
      JAVUMBO_LOGIN_PER_ADDRESS: '1000',
    },
  });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  server.stdout?.on('data', keep);
  server.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${webPort}`;
  try {
    await waitUntilServing(url, server, () => output);
  } catch (error) {
    await stop(server);
    throw error;
  }
  process.env.JAVUMBO_E2E_URL = url;
  return async () => {
    await stop(server);
    if (process.env.JAVUMBO_E2E_KEEP_LOG) console.log(output);
    rmSync(varDir, { recursive: true, force: true });
  };
}
