// Benchmark (issue 9, event-loop stalls): how long one child_process.fork() of an
// analysis worker blocks the event loop of a process holding a given heap. libuv's
// spawn returns only once the child has exec'd, and the fork copies the parent's
// page tables, so the cost grows with the parent's resident memory. Prints the
// synchronous time of each fork() call and monitorEventLoopDelay's maximum around it.
//
// Usage: node dist/bench/worker-spawn.js [heap MiB, default 200] [forks, default 10]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { WORKER_SETTINGS_ENV } from '../src/image/analysis-pool.js';

const WORKER_PATH = fileURLToPath(new URL('../src/image/analysis-worker.js', import.meta.url));

/** Live objects the size of a busy operator's caches: strings in small records. */
function holdHeap(mib: number): unknown[] {
  const held: unknown[] = [];
  // ~1 KiB per record (a 1000-character string and its record).
  for (let i = 0; i < mib * 1024; i++) held.push({ key: `k${i}`, value: `${i}`.padEnd(1000, 'x') });
  return held;
}

async function main(): Promise<void> {
  const heapMiB = Number(process.argv[2] ?? 200);
  const forks = Number(process.argv[3] ?? 10);
  const held = holdHeap(heapMiB);
  const rssMiB = Math.round(process.memoryUsage().rss / 1024 / 1024);
  const calls: number[] = [];
  const stalls: number[] = [];
  for (let i = 0; i < forks; i++) {
    await sleep(100);
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    await sleep(20);
    const start = performance.now();
    const child = fork(WORKER_PATH, [], {
      env: { ...process.env, [WORKER_SETTINGS_ENV]: '{"analyzer":{}}' },
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    calls.push(performance.now() - start);
    await sleep(50);
    delay.disable();
    stalls.push(delay.max / 1e6);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(' ');
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`heap held ${heapMiB} MiB, rss ${rssMiB} MiB, ${held.length} records`);
  console.log(`fork() call ms: ${fmt(calls)}  (median ${median(calls).toFixed(1)})`);
  console.log(`loop delay max ms: ${fmt(stalls)}  (median ${median(stalls).toFixed(1)})`);
}

await main();
