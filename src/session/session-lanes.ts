// Per-session ordering inside the channel object: an await on I/O lets other requests run, so
// each session's work is chained in memory (the inbox seq keeps the order on disk) while other
// sessions of the channel proceed in between.

export class SessionLanes {
  private readonly chains = new Map<string, Promise<unknown>>();

  /** Runs `task` after every earlier task of the same key settled (fulfilled or not). */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return next;
  }
}
