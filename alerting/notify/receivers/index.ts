/** Builds a receiver's integrations from its config. */
import type { Logger } from '../../../core/logger.ts';
import type { ReceiverConfig } from '../config.ts';
import type { Integration } from '../types.ts';
import { createAlertmanagerIntegration } from './alertmanager.ts';
import { createChatIntegration } from './chat.ts';
import { createEmailIntegration } from './email.ts';
import { createLogIntegration } from './log.ts';
import { createPagerDutyIntegration } from './pagerduty.ts';
import { createWebhookIntegration } from './webhook.ts';

export type IntegrationDeps = {
  timeoutMs: number;
  logger: Logger;
  /** How long a forwarded firing alert stays valid in the other Alertmanager without a re-send. */
  forwardValidFor: (resendInterval: number) => number;
};

/** Every integration of a receiver except `oncall_configs`, which the escalation module builds. */
export function buildIntegrations(receiver: ReceiverConfig, deps: IntegrationDeps): Integration[] {
  const { timeoutMs } = deps;
  return [
    ...receiver.webhook.map((c, i) => createWebhookIntegration(c, i, timeoutMs)),
    ...receiver.email.map((c, i) => createEmailIntegration(c, i, timeoutMs)),
    ...receiver.chat.map((c, i) => createChatIntegration(c, i, timeoutMs)),
    ...receiver.pagerduty.map((c, i) => createPagerDutyIntegration(c, i, timeoutMs)),
    ...receiver.alertmanager.map((c, i) =>
      createAlertmanagerIntegration(c, i, timeoutMs, deps.forwardValidFor(c.resendInterval)),
    ),
    ...receiver.log.map((c, i) => createLogIntegration(c, i, deps.logger.child({ receiver: receiver.name }))),
  ];
}
