/** The hub's CPU profile (node --cpu-prof, with --profile-hub DIR): its top self-time functions. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Instance } from './instances.ts';
import { HUB_DIR, PROFILE_DIR, ROOT } from './options.ts';

type ProfileNode = { id: number; callFrame: { functionName: string; url: string } };
export type ProfileTop = {
  phase: string;
  file: string;
  sampledMs: number;
  /** Main thread time not idle (JS, GC, native calls made from JS). */
  busyMs: number;
  top: { fn: string; where: string; selfMs: number; shareOfBusy: number }[];
};

/** The `n` functions with the most self time on the main thread, idle left out. */
async function summarizeProfile(file: string, phase: string, n = 10): Promise<ProfileTop> {
  const prof = JSON.parse(await readFile(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const self = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const node = byId.get(prof.samples[i]!);
    const dt = prof.timeDeltas[i + 1] ?? 0;
    if (!node) continue;
    total += dt;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    // tsx compiles each module to one line, so a line number says nothing: the file does.
    const where = cf.url
      .replace(`file://${HUB_DIR}/`, '')
      .replace(`file://${ROOT}/`, '')
      .replace(/^file:\/\//, '');
    const key = `${cf.functionName}|${where}`;
    const e = self.get(key) ?? { fn: cf.functionName || '(anonymous)', where, us: 0 };
    e.us += dt;
    self.set(key, e);
  }
  const busy = total - idle;
  const top = [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, n)
    .map((e) => ({ fn: e.fn, where: e.where, selfMs: e.us / 1000, shareOfBusy: e.us / busy }));
  return { phase, file, sampledMs: total / 1000, busyMs: busy / 1000, top };
}

/** The main thread's profile of a hub process (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile). */
export async function hubProfile(inst: Instance, phase: string): Promise<ProfileTop | undefined> {
  if (!PROFILE_DIR || inst.system !== 'hub') return undefined;
  const f = (await readdir(PROFILE_DIR)).find(
    (x) => x.includes(`.${inst.pid}.0.`) && x.endsWith('.cpuprofile'),
  );
  return f ? summarizeProfile(join(PROFILE_DIR, f), phase) : undefined;
}
