import { appendFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { isHubError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import { createNginxSource, statePathFor } from './nginx-source.ts';

const line = (host: string, status: number) =>
  `10.0.0.1 - - [26/Nov/2026:21:00:00 +0000] "GET / HTTP/1.1" ${status} 10 "-" "curl/8" 0.004 0.003 ${host} 10.0.0.2:80\n`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obs-nginx-source-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createNginxSource', () => {
  it('follows several logs into one set of interval metrics, and resumes after a restart', async () => {
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    writeFileSync(a, line('a.example', 200));
    writeFileSync(b, line('b.example', 503));
    const clock = new FakeClock();
    const options = {
      paths: [a, b],
      format: 'platform',
      stateDir: join(dir, 'state'),
      tags: { host: 'router-1' },
      clock,
      logger: silentLogger,
      startAt: 'start' as const,
    };
    const source = createNginxSource(options);
    await source.start();
    appendFileSync(a, line('a.example', 200) + 'x'.repeat(10) + '\n');
    await source.poll();
    clock.advance(10_000);
    const points = await source.sample(clock.now());
    const count = (metric: string, vhost: string) =>
      points.find((p) => p.metric === metric && p.tags['vhost'] === vhost)?.value;
    expect(count('nginx.status.2xx', 'a.example')).toBe(2);
    expect(count('nginx.status.5xx', 'b.example')).toBe(1);
    expect(points.find((p) => p.metric === 'nginx.requests' && p.tags['vhost'] === 'a.example')?.value).toBe(
      0.2,
    );
    expect(points.find((p) => p.metric === 'nginx.malformed')?.value).toBe(1);
    await source.stop();

    appendFileSync(b, line('b.example', 503));
    const again = createNginxSource(options);
    await again.start();
    const next = await again.sample(clock.now() + 10_000);
    expect(
      next.filter((p) => p.metric.startsWith('nginx.status.')).map((p) => [p.tags['vhost'], p.value]),
    ).toEqual([['b.example', 1]]);
    await again.stop();
  });

  it('names one state file per log path', () => {
    expect(statePathFor('/var/lib/obs', '/var/log/nginx/access.log')).toMatch(
      /^\/var\/lib\/obs\/nginx-access\.log-[0-9a-f]{12}\.offset\.json$/,
    );
    expect(statePathFor('/s', '/a/access.log')).not.toBe(statePathFor('/s', '/b/access.log'));
  });

  it('refuses a format it cannot use', () => {
    let error: unknown;
    try {
      createNginxSource({
        paths: [],
        format: '$remote_addr',
        stateDir: dir,
        tags: {},
        clock: new FakeClock(),
        logger: silentLogger,
      });
    } catch (e) {
      error = e;
    }
    expect(isHubError(error)).toBe(true);
  });
});
