/** Chat receiver: a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat). */
import type { ChatConfig } from '../config.ts';
import { groupStatus, type Integration, type Notification } from '../types.ts';
import { lineOf, splitByStatus, titleOf } from './common.ts';
import { postJson } from './http.ts';

export type ChatPayload = {
  channel?: string;
  username?: string;
  text: string;
  attachments: {
    color: 'danger' | 'good';
    title: string;
    title_link: string;
    text: string;
    fallback: string;
    mrkdwn_in: string[];
  }[];
};

export function buildChatPayload(
  n: Notification,
  config: Pick<ChatConfig, 'channel' | 'username'>,
): ChatPayload {
  const title = titleOf(n);
  const { firing, resolved } = splitByStatus(n.alerts);
  const lines = [
    ...firing.map((a) => `:red_circle: ${lineOf(a)}`),
    ...resolved.map((a) => `:white_check_mark: ${lineOf(a)}`),
  ];
  return {
    ...(config.channel ? { channel: config.channel } : {}),
    ...(config.username ? { username: config.username } : {}),
    text: title,
    attachments: [
      {
        color: groupStatus(n.alerts) === 'firing' ? 'danger' : 'good',
        title,
        title_link: n.externalURL,
        text: lines.join('\n'),
        fallback: title,
        mrkdwn_in: ['text'],
      },
    ],
  };
}

export function createChatIntegration(config: ChatConfig, index: number, timeoutMs: number): Integration {
  return {
    kind: 'chat',
    index,
    sendResolved: config.sendResolved,
    send: (n) => postJson(config.url, buildChatPayload(n, config), { timeoutMs }),
  };
}
