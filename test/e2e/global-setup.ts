// Mocha global fixtures for the e2e suite: one cluster for the whole run,
// always torn down (also when a test fails or the run is interrupted).
import { startHarness, stopHarness } from './harness.js';

export async function mochaGlobalSetup(): Promise<void> {
  const stopOnSignal = (signal: NodeJS.Signals) => {
    void stopHarness().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  await startHarness();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopHarness();
}
