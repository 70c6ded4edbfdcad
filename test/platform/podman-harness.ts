/**
 * A real Docker Engine API for platform tests: podman's compatible service in a temp work dir,
 * started by `scripts/docker-api-with-podman.sh` (which builds `localhost/busybox-local:latest`
 * locally, no registry being reachable). `stop` removes every container, stops the service and
 * unmounts and deletes podman's storage.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { cgroupsUnavailable } from '../containers/cgroup-harness.ts';

export const IMAGE = 'localhost/busybox-local:latest';

const RECIPES = ['scripts/docker-api-with-podman.sh', '../shared/recipes/docker-api-with-podman.sh'].map(
  (p) => resolve(import.meta.dirname, '../..', p),
);
const recipe = RECIPES.find(existsSync);

function onPath(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why podman's Docker API cannot run here (root, cgroups, the recipe, the tools), or undefined. */
export function podmanUnavailable(): string | undefined {
  const cgroups = cgroupsUnavailable();
  if (cgroups) return cgroups;
  if (!recipe) return `the recipe docker-api-with-podman.sh is at none of ${RECIPES.join(', ')}`;
  const tools = ['podman', 'runc', 'curl'].filter((t) => !onPath(t));
  if (!existsSync('/bin/busybox')) tools.push('busybox (static)');
  return tools.length
    ? `missing ${tools.join(', ')}: install the Debian packages podman runc busybox-static curl`
    : undefined;
}

export type PodmanApi = {
  workdir: string;
  socketPath: string;
  docker: Docker;
  /** Stops the API service and starts it again on the same socket; the containers keep running. */
  restart(): Promise<void>;
  /** Removes every container of this service, stops it and deletes its storage. Never throws. */
  stop(): Promise<void>;
};

async function killService(workdir: string): Promise<void> {
  const pid = Number((await readFile(join(workdir, 'service.pid'), 'utf8').catch(() => '')).trim());
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
}

const runRecipe = (workdir: string) =>
  execFileSync('bash', [recipe!, workdir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Starts podman's Docker API service on a socket in a new temp dir. */
export async function startPodmanApi(): Promise<PodmanApi> {
  const workdir = await mkdtemp(join(tmpdir(), 'obs-test-podman-'));
  let docker: Docker | undefined;
  const stop = async () => {
    if (docker) {
      const all = await docker.listContainers({ all: true }).catch(() => []);
      await Promise.all(
        all.map((c) =>
          docker!
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => {}),
        ),
      );
    }
    await killService(workdir);
    // podman bind-mounts its storage onto itself; unmount before removing the directory.
    try {
      execFileSync('umount', ['-l', join(workdir, 'storage/overlay')], { stdio: 'ignore' });
    } catch {}
    await rm(workdir, { recursive: true, force: true }).catch(() => {});
  };
  try {
    const socketPath = runRecipe(workdir).trim().split('\n').pop()!;
    docker = new Docker({ socketPath });
    await docker.ping();
    const restart = async () => {
      await killService(workdir);
      runRecipe(workdir);
      await docker!.ping();
    };
    return { workdir, socketPath, docker, restart, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
