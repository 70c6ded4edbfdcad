/**
 * The tailer's saved state: for the file at the path and for renamed files still being drained,
 * the identity (`dev:ino`), the offset of the first byte not yet handed over, and the last bytes
 * before it (base64) to recognise the file again. Written as a temp file then renamed, so a crash
 * leaves the old state or the new one, never half of one; synchronously, as it is written often
 * (once a `saveEveryMs` while lines come, every 8 MiB while catching up, and on every rotation:
 * see `tail-checkpoint.ts`), and it is a few hundred bytes: two thread-pool round trips cost more
 * than the writing.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../../core/logger.ts';

export type SavedFile = { id: string; offset: number; tail: string };

export type SavedState = { version: 1; path: string; current: SavedFile | null; draining: SavedFile[] };

export function saveTailState(statePath: string, state: SavedState): void {
  const tmp = statePath + '.tmp';
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, statePath);
}

/** The saved state of `path`, or null when there is none or it cannot be used (then says why). */
export async function loadTailState(
  statePath: string,
  path: string,
  log: Logger,
): Promise<SavedState | null> {
  let text: string;
  try {
    text = await readFile(statePath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let state: SavedState;
  try {
    state = JSON.parse(text) as SavedState;
  } catch (e) {
    log.warn('ignoring an unreadable state file', { statePath, err: e });
    return null;
  }
  const files = [...(state?.draining ?? []), ...(state?.current ? [state.current] : [])];
  const valid =
    state?.version === 1 &&
    Array.isArray(state.draining) &&
    files.every(
      (f) =>
        typeof f.id === 'string' &&
        Number.isSafeInteger(f.offset) &&
        f.offset >= 0 &&
        typeof f.tail === 'string',
    );
  if (!valid) {
    log.warn('ignoring an unreadable state file', { statePath });
    return null;
  }
  if (state.path !== path) {
    log.warn('ignoring the saved state of another file', { statePath, savedPath: state.path });
    return null;
  }
  return state;
}
