// When a workload is next due for a rescan: the soonest fire time of the
// `spec.rescan.schedule` cron expressions of the policies that apply to it
// (node-cron's matcher; the CRD already refuses expressions that are not five
// fields). The reconcile returns it as requeueAfter, so a schedule needs no
// timer of its own and disappears with the policy.
import { createTask, type ScheduledTask } from 'node-cron';
import { LRUCache } from 'lru-cache';

/** Distinct schedules kept parsed; a task that is never started holds no timer. */
const parsed = new LRUCache<string, { task?: ScheduledTask; next?: number }>({
  max: 256,
  dispose: (entry) => void entry.task?.destroy(),
});

function entryFor(schedule: string): { task?: ScheduledTask; next?: number } {
  let entry = parsed.get(schedule);
  if (entry === undefined) {
    try {
      entry = { task: createTask(schedule, () => undefined, { suppressMissedWarning: true }) };
    } catch {
      // The API server validates the field; a schedule it let through that node-cron refuses is ignored.
      entry = {};
    }
    parsed.set(schedule, entry);
  }
  return entry;
}

/**
 * The schedule's next fire time, remembered until it passes: node-cron builds Intl date
 * formatters to find it, milliseconds a call, and every workload reconcile asks.
 */
function nextRunOf(schedule: string, nowMs: number): number | undefined {
  const entry = entryFor(schedule);
  if (entry.task === undefined) return undefined;
  if (entry.next === undefined || entry.next <= nowMs) entry.next = entry.task.getNextRuns(1)[0]?.getTime();
  return entry.next;
}

/** Milliseconds from `nowMs` until the soonest of `schedules` fires, or undefined when none is valid. */
export function msUntilNextRescan(
  schedules: Iterable<string>,
  nowMs: number = Date.now(),
): number | undefined {
  let soonest: number | undefined;
  for (const schedule of schedules) {
    const next = nextRunOf(schedule, nowMs);
    if (next === undefined) continue;
    const ms = Math.max(1000, next - nowMs);
    if (soonest === undefined || ms < soonest) soonest = ms;
  }
  return soonest;
}
