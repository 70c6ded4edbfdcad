/**
 * The real engines the suites share, as scripts/engines/*.sh run them on their fixed loopback
 * ports: where they answer, and whether a suite can use them. A suite whose engine is down skips
 * locally (saying why) and fails under CI=true, where .ci/run starts every engine.
 */
import { brokerUnavailable, TEST_BROKER } from '../pipeline/bus/kafka/test-broker.ts';
import { missingPrerequisite } from './containers/cgroup-harness.ts';

export const VM_HTTP = 'http://127.0.0.1:8428';
export const VM_PUT = 'http://127.0.0.1:4344';
export const VM_TELNET = { host: '127.0.0.1', port: 4343 };
export const OPENSEARCH = 'http://127.0.0.1:9200';

export type Engine = 'kafka' | 'victoria-metrics' | 'opensearch';

async function get(url: string): Promise<Response | undefined> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(3000) });
  } catch {
    return undefined;
  }
}

/** Whether `url` answers 2xx within 3 s. */
export async function answersOk(url: string): Promise<boolean> {
  return (await get(url))?.ok === true;
}

/** Why `engine` cannot be used here, or undefined when it answers on its fixed port. */
export async function engineMissing(engine: Engine): Promise<string | undefined> {
  const down = (what: string) => `${what}; start it with scripts/engines/${engine}.sh start`;
  if (engine === 'kafka') {
    const reason = await brokerUnavailable(TEST_BROKER);
    return reason && down(reason);
  }
  if (engine === 'victoria-metrics')
    return (await get(`${VM_HTTP}/health`))?.ok
      ? undefined
      : down(`VictoriaMetrics does not answer at ${VM_HTTP}`);
  const health = await get(`${OPENSEARCH}/_cluster/health`);
  if (!health?.ok) return down(`no OpenSearch answers at ${OPENSEARCH}`);
  const { status } = (await health.json()) as { status?: string };
  return status === 'red' ? `OpenSearch at ${OPENSEARCH} is red` : undefined;
}

/**
 * Why `suite` must skip (locally, printed), or undefined when its engines answer; throws under
 * CI=true instead of skipping.
 */
export async function engineSkip(suite: string, engines: Engine[]): Promise<string | undefined> {
  const reasons = (await Promise.all(engines.map(engineMissing))).filter((r) => r !== undefined);
  const reason = reasons.length > 0 ? reasons.join('; ') : undefined;
  if (missingPrerequisite(suite, reason)) console.warn(`${suite} skipped: ${reason}`);
  return reason;
}

/** True when `suite` must skip (see `engineSkip`). */
export async function skipWithout(suite: string, engines: Engine[]): Promise<boolean> {
  return (await engineSkip(suite, engines)) !== undefined;
}
