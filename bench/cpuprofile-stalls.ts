// Where an event loop stalled, from a V8 .cpuprofile (node --cpu-prof, or the hostile
// e2e's SHIPSHAPE_E2E_CPU_PROF): the longest runs of consecutive samples that are
// neither "(idle)" nor "(program)" — the main thread busy in JavaScript, GC or a
// native call such as fork() — and, for each run, the stacks it spent most time in.
//
// Usage: node dist/bench/cpuprofile-stalls.js <file.cpuprofile> [runs, default 8] [frames, default 8]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const IDLE = new Set(['(idle)', '(program)']);

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^.*\/(node_modules\/|dist\/)/, '$1');
  return `${functionName || '(anonymous)'}${file === '' ? '' : ` ${file}:${lineNumber + 1}`}`;
}

function main(): void {
  const [file, runsArg, framesArg] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: cpuprofile-stalls <file.cpuprofile> [runs] [frames]');
  const runsShown = Number(runsArg ?? 8);
  const frames = Number(framesArg ?? 8);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = (id: number): string => {
    const names: string[] = [];
    for (let at: number | undefined = id; at !== undefined && names.length < frames; at = parent.get(at)) {
      const node = byId.get(at)!;
      if (node.callFrame.functionName === '(root)') break;
      names.push(frameName(node));
    }
    return names.join(' < ');
  };

  // A run: consecutive busy samples; its length is the sum of their time deltas.
  type Run = { startUs: number; us: number; samples: number[] };
  const runs: Run[] = [];
  let current: Run | undefined;
  let clockUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    clockUs += delta;
    const id = profile.samples[i]!;
    const busy = !IDLE.has(byId.get(id)?.callFrame.functionName ?? '');
    if (busy) {
      current ??= { startUs: clockUs, us: 0, samples: [] };
      current.us += profile.timeDeltas[i + 1] ?? delta;
      current.samples.push(id);
    } else if (current !== undefined) {
      runs.push(current);
      current = undefined;
    }
  }
  if (current !== undefined) runs.push(current);
  runs.sort((a, b) => b.us - a.us);
  console.log(
    `${profile.samples.length} samples over ${(clockUs / 1e6).toFixed(1)} s; ${runs.length} busy runs`,
  );
  for (const run of runs.slice(0, runsShown)) {
    console.log(
      `\n${(run.us / 1000).toFixed(1)} ms at ${(run.startUs / 1e6).toFixed(3)} s (${run.samples.length} samples)`,
    );
    const counts = new Map<string, number>();
    for (const id of run.samples) {
      const stack = stackOf(id);
      counts.set(stack, (counts.get(stack) ?? 0) + 1);
    }
    for (const [stack, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 4)) {
      console.log(`  ${n} × ${stack}`);
    }
  }
}

main();
