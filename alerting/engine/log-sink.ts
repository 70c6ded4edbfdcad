/**
 * An `AlertSink` that logs each alert when it starts firing and when it resolves: the default
 * while no notification pipeline is plugged in, and for `obs hub` on a laptop.
 */
import type { Logger } from '../../core/logger.ts';
import type { AlertSink } from '../types.ts';

export function createLogSink(logger: Logger): AlertSink {
  const firing = new Set<string>();
  return {
    async update(alerts) {
      const now = new Set<string>();
      for (const a of alerts) {
        const id = `${a.fingerprint}@${a.startsAt}`;
        const fields = {
          rule: a.rule,
          labels: a.labels,
          value: a.value,
          nodata: a.nodata,
          startsAt: a.startsAt,
        };
        if (a.status === 'resolved') {
          logger.info('alert resolved', { ...fields, endsAt: a.endsAt });
          continue;
        }
        now.add(id);
        if (!firing.has(id)) logger.warn('alert firing', { ...fields, annotations: a.annotations });
      }
      firing.clear();
      for (const id of now) firing.add(id);
    },
  };
}
