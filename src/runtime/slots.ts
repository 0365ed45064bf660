// A counting semaphore: at most `limit` pieces of work at once, the rest wait
// in arrival order. Bounds concurrent scans and layer walks.
export class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.active--;
    }
  }

  /** Work running now. */
  get inUse(): number {
    return this.active;
  }
}
