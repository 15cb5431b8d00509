/**
 * State shared by every transaction of one open store: the current lmdb handles
 * (replaced when the map grows), the codec for new pointers, and scratch buffers.
 */
import type { Codec } from '../codec/types.js';
import { LmjError } from '../errors.js';
import { KeyBuilder } from './bytes.js';
import type { LmdbHandles } from './lmdb-env.js';
import { NativeWriter } from './native-write.js';

/** What a transaction needs from its store. */
export class EngineContext {
  /** Scratch space for `ptr ‖ name` keys. */
  readonly keys = new KeyBuilder();
  private current: LmdbHandles | undefined;
  /** The native member writer of the current handles; undefined until first asked. */
  private writer: NativeWriter | null | undefined;

  constructor(
    readonly codec: Codec,
    readonly partition: number,
    handles: LmdbHandles,
  ) {
    this.current = handles;
  }

  /** The open handles; STORE_CLOSED once the store is closed. */
  get h(): LmdbHandles {
    const h = this.current;
    if (h === undefined) throw new LmjError('STORE_CLOSED');
    return h;
  }

  /** Swaps in new handles (after growth) or marks the store closed (`undefined`). */
  replace(handles: LmdbHandles | undefined): void {
    this.current = handles;
    this.writer = undefined;
  }

  /**
   * The native member writer when lmdb-js has a write transaction open on the current
   * handles and the addon may write through it (./native-write.ts), else null.
   */
  nativeWrites(): NativeWriter | null {
    if (this.writer === undefined) this.writer = NativeWriter.of(this.codec.write, this.h);
    return this.writer !== null && this.writer.usable ? this.writer : null;
  }

  /** True while the store is open. */
  get isOpen(): boolean {
    return this.current !== undefined;
  }
}
