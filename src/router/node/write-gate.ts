/**
 * The applies a data node has in flight (ownership checked, not yet committed). A move's
 * final delta waits for them: once the node's table shows the fence, no new apply for
 * the range passes the check, and {@link WriteGate.drain} returns when every apply that
 * passed it before is committed — so the final delta holds every acknowledged write.
 */
export class WriteGate {
  private readonly inflight = new Set<Promise<unknown>>();

  /** Runs an apply (check + write) as in flight. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = fn();
    const tracked = p.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
    return p;
  }

  /** Resolves when every apply in flight now has settled. */
  async drain(): Promise<void> {
    await Promise.all([...this.inflight]);
  }
}
