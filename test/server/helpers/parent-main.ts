// A parent process for the parent-death tests. It spawns the server with the extension's stdio
// (stdin, stdout and stderr pipes; stdin never written, stderr read and dropped), prints
// `PID <server pid>` and every server stdout line as `EVENT <line>` on its own stdout, streams
// the requests it was given once the server is ready (printing `STREAMING <i>` at each first
// data frame), and waits to be killed. argv[2]: ParentPlan as JSON.
import { spawn } from 'node:child_process';

export interface ParentPlan {
  command: string;
  args: string[];
  /** Streamed to /v1/completions, all at once, after the `ready` event. */
  requests?: { prompt: string; max_tokens: number }[];
}

const plan = JSON.parse(process.argv[2]) as ParentPlan;
const child = spawn(plan.command, plan.args, { stdio: ['pipe', 'pipe', 'pipe'] });
process.stdout.write(`PID ${child.pid}\n`);
child.stderr.on('data', () => undefined);
let url = '';
let rest = '';
child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
  const lines = (rest + chunk).split('\n');
  rest = lines.pop() ?? '';
  for (const line of lines) {
    process.stdout.write(`EVENT ${line}\n`);
    const ev = JSON.parse(line) as { event: string; url?: string };
    if (ev.event === 'listening') url = ev.url ?? '';
    if (ev.event === 'ready') (plan.requests ?? []).forEach((r, i) => void stream(i, r));
  }
});

async function stream(i: number, body: { prompt: string; max_tokens: number }): Promise<void> {
  const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
  process.stdout.write(`SENT ${i} ${res.status}\n`);
  let first = true;
  for await (const chunk of res.body!) {
    // A `data:` frame, not the `: ping` heartbeat.
    if (first && Buffer.from(chunk).toString().includes('data: ')) {
      process.stdout.write(`STREAMING ${i}\n`);
      first = false;
    }
  }
}

setInterval(() => undefined, 1000);
