import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.ts';
import { tempDir } from '../../test/harness.ts';
import { openIdentityStore } from './identity-store.ts';

describe('identity store shared by two processes', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('sees a token revoked right after it was made, though the file keeps its mtime', async () => {
    const tmp = await tempDir('obs-ids-');
    cleanups.push(tmp.cleanup);
    const path = join(tmp.dir, 'identities.json');
    // The hub's view and the command line's, on one file.
    const hub = await openIdentityStore({ path, clock: systemClock });
    const cli = await openIdentityStore({ path, clock: systemClock });
    for (let i = 0; i < 5; i++) {
      const { token, secret } = await cli.createToken({
        name: `t${i}`,
        owner: null,
        scopes: ['read'],
        projects: null,
        expiresAt: null,
      });
      // Both writes stamped with one time, as a file system's tick of a few ms does to writes
      // that follow each other closely (198 in 200 here on ext4).
      const tick = Math.floor(Date.now() / 1000);
      await utimes(path, tick, tick);
      await hub.refresh();
      expect(hub.checkToken(secret).ok).toBe(true);
      await cli.revokeToken(token.id);
      await utimes(path, tick, tick);
      await hub.refresh();
      expect(hub.checkToken(secret)).toEqual({ ok: false, reason: 'revoked' });
    }
  });
});
