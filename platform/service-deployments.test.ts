import { describe, expect, it } from 'vitest';
import { createDeploymentTracker } from './service-deployments.ts';
import type { OrchestratorEvent } from './types.ts';

const ev = (
  type: OrchestratorEvent['type'],
  ts: number,
  over: Partial<OrchestratorEvent> = {},
): OrchestratorEvent => ({
  type,
  orchestrator: 'marathon',
  appId: '/shop/web',
  deploymentId: 'd1',
  ts,
  ...over,
});

describe('deployment tracker', () => {
  it('follows a deployment from start through its steps to success', () => {
    const t = createDeploymentTracker();
    expect(t.apply(ev('deployment_started', 1))?.status).toBe('running');
    t.apply(ev('deployment_step', 2, { message: 'StartApplication /shop/web' }));
    t.apply(ev('deployment_step', 2, { message: 'StartApplication /shop/web' }));
    const done = t.apply(ev('deployment_success', 3));
    expect(done).toMatchObject({ id: 'd1', appId: '/shop/web', status: 'success', startedAt: 1, endedAt: 3 });
    expect(done!.steps.map((s) => s.message)).toEqual(['started', 'StartApplication /shop/web', 'finished']);
  });

  it('takes a failure with its message, and a deployment first seen by its last event', () => {
    const t = createDeploymentTracker();
    const failed = t.apply(
      ev('deployment_failed', 5, { deploymentId: 'd2', message: 'health checks failed' }),
    );
    expect(failed).toMatchObject({ id: 'd2', status: 'failed', message: 'health checks failed', endedAt: 5 });
  });

  it('ignores events that are not about a deployment', () => {
    const t = createDeploymentTracker();
    expect(t.apply(ev('task_changed', 1, { deploymentId: undefined }))).toBeUndefined();
    expect(t.apply(ev('health_changed', 1))).toBeUndefined();
    expect(t.list()).toEqual([]);
  });

  it('notes a deployment a call started once, and lets its events fill in the rest', () => {
    const t = createDeploymentTracker();
    expect(t.started('d3', '/shop/web', 'marathon', 10, 'scale to 4')?.message).toBe('scale to 4');
    expect(t.started('d3', '/shop/web', 'marathon', 11, 'again')).toBeUndefined();
    t.apply(ev('deployment_success', 12, { deploymentId: 'd3', appId: undefined }));
    expect(t.get('d3')).toMatchObject({ appId: '/shop/web', status: 'success' });
  });

  it('keeps the newest, dropping finished deployments before running ones', () => {
    const t = createDeploymentTracker(2);
    t.apply(ev('deployment_started', 1, { deploymentId: 'running-old' }));
    t.apply(ev('deployment_success', 2, { deploymentId: 'done' }));
    t.apply(ev('deployment_started', 3, { deploymentId: 'new' }));
    expect(t.list().map((d) => d.id)).toEqual(['new', 'running-old']);
  });
});
