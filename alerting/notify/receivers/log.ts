/** The log receiver: the embedded default, writing each notification to the hub's log. */
import type { Logger } from '../../../core/logger.ts';
import { groupStatus, type Integration } from '../types.ts';
import { lineOf, titleOf } from './common.ts';

export function createLogIntegration(
  config: { level: 'debug' | 'info' | 'warn' | 'error' },
  index: number,
  logger: Logger,
): Integration {
  return {
    kind: 'log',
    index,
    sendResolved: true,
    async send(n) {
      logger[config.level]('notification', {
        receiver: n.receiver,
        groupKey: n.groupKey,
        status: groupStatus(n.alerts),
        title: titleOf(n),
        alerts: n.alerts.map((a) => `${a.status}: ${lineOf(a)}`),
      });
      return { ok: true };
    },
  };
}
