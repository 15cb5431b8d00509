/**
 * Flow control for one inbound MQTT connection: counts the messages it handed to
 * ingest that have no final result yet, stops reading the socket when they reach the
 * bound and reads again once they fell to the resume mark. What is not read stays in
 * the kernel's socket buffers and then at the sender (TCP back-pressure), not in our
 * heap. The bound is overshot by at most the messages of the one read being parsed
 * when it was reached (≤ 64 KiB of packets).
 */

/** What the gate needs of a socket. */
export interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

/**
 * Pauses and resumes reading by the count of messages in flight, and yields the event
 * loop once a turn has taken `turnMessages`: libuv reads a readable socket up to 32
 * times (64 KiB each) in one poll callback, so a flooding broker could otherwise have
 * thousands of messages parsed and submitted before a timer, an fdatasync completion or
 * an HTTP request runs. Past the budget the socket pauses until the next turn.
 */
export class ReadGate {
  private n = 0;
  private paused = false;
  private stopped = false;
  /** Paused for the rest of this turn (the turn budget), resumed by {@link endTurn}. */
  private yielding = false;
  /** Messages entered in this event-loop turn, and whether its end is scheduled. */
  private turn = 0;
  private turnArmed = false;
  private socket: Pausable | undefined;
  private readonly resumeAt: number;
  private readonly endTurn = (): void => {
    this.turnArmed = false;
    this.turn = 0;
    if (!this.yielding) return;
    this.yielding = false;
    if (!this.paused && !this.stopped) this.socket?.resume();
  };

  /**
   * @param max messages in flight at which reading stops (≥ 1)
   * @param onPause called each time reading stops at the bound (a counter)
   * @param turnMessages messages per event-loop turn after which reading waits for the next turn
   */
  constructor(
    private readonly max: number,
    private readonly onPause: () => void,
    private readonly turnMessages = Infinity,
  ) {
    // Half the bound: one resume lets a full half-window in, instead of a pause/resume per message.
    this.resumeAt = Math.floor(max / 2);
  }

  /** Messages in flight. */
  get count(): number {
    return this.n;
  }

  /** True while reading is stopped (at the bound, or stopped for good). */
  get isPaused(): boolean {
    return this.paused || this.stopped || this.yielding;
  }

  /** Gates `socket` from now on (a new connection): paused at once when the bound is still reached. */
  attach(socket: Pausable): void {
    this.socket = socket;
    this.paused = this.n >= this.max;
    if (this.paused || this.stopped) socket.pause();
  }

  /** A message was handed to ingest. */
  enter(): void {
    this.n++;
    this.turn++;
    if (!this.turnArmed) {
      this.turnArmed = true;
      setImmediate(this.endTurn);
    }
    if (!this.paused && !this.stopped && this.n >= this.max) {
      this.paused = true;
      this.socket?.pause();
      this.onPause();
    }
  }

  /** A message handed to ingest has its final result. */
  leave(): void {
    this.n--;
    if (this.paused && !this.stopped && this.n <= this.resumeAt) {
      this.paused = false;
      if (!this.yielding) this.socket?.resume();
    }
  }

  /** A chunk read from the socket was parsed: past this turn's budget, reading waits for the next turn. */
  chunkDone(): void {
    if (this.turn < this.turnMessages || this.yielding || this.stopped) return;
    this.yielding = true;
    this.socket?.pause();
  }

  /** Stops reading for good (shutdown): nothing resumes it. */
  stop(): void {
    this.stopped = true;
    this.socket?.pause();
  }
}
