/** Starts real hubs for integration tests: in this process, or as a child process to kill. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { type Hub, startHub } from '../bin/hub.ts';
import type { Clock } from '../core/clock.ts';
import { type HubConfig, loadConfig } from '../core/config.ts';
import { silentLogger } from '../core/logger.ts';

export { type ChildHub, exited, spawnHub, spawnObs, stopHub } from './hub-process.ts';

export async function tempDir(prefix = 'obs-test-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export type TestHub = Hub & { dir: string; stop(): Promise<void> };

/** A hub on free ports in a temp data dir, without the local agent unless asked. */
type Nested = 'limits' | 'auth' | 'store' | 'bus' | 'agent' | 'tracing' | 'platform';
type Overrides = Partial<Omit<HubConfig, Nested>> & { [K in Nested]?: Partial<HubConfig[K]> };

export async function startTestHub(overrides: Overrides & { clock?: Clock } = {}): Promise<TestHub> {
  const tmp = overrides.dataDir ? undefined : await tempDir();
  const dataDir = overrides.dataDir ?? tmp!.dir;
  const base = loadConfig({ env: {}, flags: { port: 0, telnetPort: 0, dataDir } });
  const config: HubConfig = {
    ...base,
    ...(overrides as Partial<HubConfig>),
    dataDir,
    agent: { ...base.agent, enabled: false, ...overrides.agent },
    limits: { ...base.limits, ...overrides.limits },
    auth: { ...base.auth, ...overrides.auth },
    store: { ...base.store, ...overrides.store },
    bus: { ...base.bus, ...overrides.bus },
    tracing: { ...base.tracing, ...overrides.tracing },
    platform: { ...base.platform, ...overrides.platform },
  };
  const hub = await startHub(config, {
    logger: silentLogger,
    ...(overrides.clock ? { clock: overrides.clock } : {}),
  });
  return Object.assign(hub, {
    dir: dataDir,
    async stop() {
      await hub.close();
      await tmp?.cleanup();
    },
  });
}

/** A TCP port free on loopback right now. */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Where page tests put their screenshots: a temp folder, so a test run leaves the tree clean.
 * `OBS_SCREENSHOT_DIR=docs npx vitest run test/ui` refreshes the README's pictures.
 */
export const SCREENSHOT_DIR = process.env['OBS_SCREENSHOT_DIR'] ?? join(tmpdir(), 'obs-screenshots');

/** Debian's Chromium, headless, as every browser test starts it; CI must have it. */
export function haveChromium(): boolean {
  const present = existsSync(CHROMIUM);
  if (!present && process.env['CI'])
    throw new Error(`${CHROMIUM} is missing: .ci/run must install the Debian package chromium`);
  return present;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** Waits until `check` passes (the ingest moves points from the bus to the store asynchronously). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() - started > timeoutMs) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
