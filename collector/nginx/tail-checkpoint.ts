/**
 * When the tailer writes its state (`tail-state.ts`): whenever it is told to (on `stop()`, on a
 * rotation or truncation), every PERSIST_EVERY_BYTES handed over while catching up, and otherwise
 * at the end of a read once `saveEveryMs` passed since the last write. Each write is a rename, so
 * a busy log is not saved after every chunk; a killed process hands over again at most what was
 * handed over since the last write.
 */
import type { Clock } from '../../core/clock.ts';
import { type SavedState, saveTailState } from './tail-state.ts';

/** Besides the timed writes, the state is written every this many bytes while catching up. */
const PERSIST_EVERY_BYTES = 8 * 1024 * 1024;

export type TailCheckpointOptions = {
  /** Read at each write. */
  target: { statePath: string };
  clock: Clock;
  saveEveryMs: number;
  /** The state to write, taken at each write. */
  snapshot: () => SavedState;
};

export class TailCheckpoint {
  /** Bytes handed over since the state was last written. */
  private unsaved = 0;
  /** clock.now() at the last state write. */
  private savedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: TailCheckpointOptions) {}

  /** Writes the state now. */
  save(): void {
    this.unsaved = 0;
    this.savedAt = this.options.clock.now();
    saveTailState(this.options.target.statePath, this.options.snapshot());
  }

  /** The consumer took `bytes` more: writes the state if PERSIST_EVERY_BYTES are unsaved. */
  handedOver(bytes: number): void {
    this.unsaved += bytes;
    if (this.unsaved >= PERSIST_EVERY_BYTES) this.save();
  }

  /** Writes the state if something is unsaved and `saveEveryMs` passed since the last write. */
  saveIfDue(): void {
    if (this.unsaved > 0 && this.options.clock.now() - this.savedAt >= this.options.saveEveryMs) this.save();
  }
}
