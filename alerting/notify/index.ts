/** What the composition root needs from the notification pipeline. */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { defaultNotifyConfig, type NotifyConfig, parseNotifyConfig } from './config.ts';
import { createNotifyPipeline, type NotifyPipeline, notifyDataDir } from './pipeline.ts';

export { type NotifyConfig, parseNotifyConfig, parseNotifyConfigYaml } from './config.ts';
export { notifyConfigSchema } from './config-schema.ts';
export { type NotifyPipeline, notifyDataDir } from './pipeline.ts';

/**
 * Builds the hub's `AlertSink` from the `notify` section of its config (already read from the
 * config file; undefined = the embedded default, every alert to the log). State goes to
 * `<hub data dir>/notify/`. Throws an INVALID_CONFIG HubError naming the field.
 */
export async function createHubNotifications(options: {
  notify: unknown;
  hubDataDir: string;
  clock: Clock;
  logger: Logger;
  /** The hub's public URL, used in links when the config sets no `global.external_url`. */
  externalURL?: string;
}): Promise<NotifyPipeline> {
  const config: NotifyConfig =
    options.notify === undefined || options.notify === null
      ? defaultNotifyConfig(options.externalURL)
      : parseNotifyConfig(withExternalUrl(options.notify, options.externalURL));
  return createNotifyPipeline({
    config,
    dataDir: notifyDataDir(options.hubDataDir),
    clock: options.clock,
    logger: options.logger.child({ component: 'notify' }),
  });
}

function withExternalUrl(raw: unknown, url: string | undefined): unknown {
  if (!url || raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const r = raw as Record<string, unknown>;
  const global = (r['global'] ?? {}) as Record<string, unknown>;
  if (typeof global !== 'object' || global['external_url'] !== undefined) return raw;
  return { ...r, global: { ...global, external_url: url.replace(/\/+$/, '') } };
}
