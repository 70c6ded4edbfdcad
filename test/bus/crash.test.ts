/**
 * kill -9 against the embedded bus: a child process publishes and prints what was acknowledged;
 * after SIGKILL, every acknowledged record must be in the log exactly once and intact.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryLogger } from '../../core/logger.ts';
import type { BusRecord } from '../../core/ports.ts';
import { createEmbeddedBus } from '../../pipeline/bus/embedded/embedded-bus.ts';
import { CRASH_TOPIC, crashPayload } from './crash-payload.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const publisher = fileURLToPath(new URL('./crash-publisher.ts', import.meta.url));

/** Runs the publisher until it has acknowledged `killAfter` batches, then SIGKILLs it. */
async function publishAndKill(dir: string, round: number, killAfter: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', publisher, dir, String(round)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked: string[] = [];
  let pending = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const [word, batchId, count] = line.split(' ');
      if (word !== 'ack') continue;
      for (let i = 0; i < Number(count); i++) acked.push(`${batchId}-${i}`);
      if (acked.length >= killAfter && child.exitCode === null) child.kill('SIGKILL');
    }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  expect({ code, signal, stderr }).toEqual({ code: null, signal: 'SIGKILL', stderr: '' });
  return acked;
}

describe('embedded bus under kill -9', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'obs-bus-crash-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged record exactly once and intact', { timeout: 120_000 }, async () => {
    const acked: string[] = [];
    for (let round = 0; round < 3; round++)
      acked.push(...(await publishAndKill(dir, round, 1000 + round * 700)));

    const logger = createMemoryLogger();
    const bus = await createEmbeddedBus({ dir, logger });
    try {
      const [stats] = await bus.stats();
      const end = stats!.endOffset;
      expect(end).toBeGreaterThanOrEqual(acked.length);
      const records: BusRecord[] = [];
      const sub = await bus.subscribe({
        topic: CRASH_TOPIC,
        group: 'check',
        onBatch: async (batch) => {
          records.push(...batch);
        },
      });
      await vi.waitFor(() => expect(records.at(-1)?.offset).toBe(end - 1), { timeout: 30_000, interval: 10 });
      await sub.close();

      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: end }, (_, i) => i));
      const count = new Map<string, number>();
      for (const r of records) {
        const id = r.key!;
        count.set(id, (count.get(id) ?? 0) + 1);
        expect(r.headers).toEqual({ id });
        expect(Buffer.from(r.value).equals(Buffer.from(crashPayload(id))), id).toBe(true);
      }
      expect([...count].filter(([, n]) => n !== 1)).toEqual([]);
      expect(acked.filter((id) => !count.has(id))).toEqual([]);
      const warnings = logger.lines.filter((l) => l['level'] === 'warn');
      expect(warnings.every((w) => typeof w['droppedBytes'] === 'number')).toBe(true);
    } finally {
      await bus.close();
    }
  });
});
