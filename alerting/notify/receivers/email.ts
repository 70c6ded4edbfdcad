/** E-mail receiver: one message per notification over SMTP (nodemailer), plain text and HTML. */
import nodemailer from 'nodemailer';
import { HubError } from '../../../core/errors.ts';
import type { EmailConfig } from '../config.ts';
import type { Integration, Notification } from '../types.ts';
import { lineOf, rfc3339, splitByStatus, textBody, titleOf } from './common.ts';

export type EmailMessage = {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
};

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function htmlBody(n: Notification): string {
  const { firing, resolved } = splitByStatus(n.alerts);
  const rows = (alerts: typeof firing, color: string) =>
    alerts
      .map(
        (a) =>
          `<tr><td style="border-left:4px solid ${color};padding:4px 8px">` +
          `<strong>${escapeHtml(lineOf(a))}</strong><br>` +
          Object.entries(a.annotations)
            .map(([k, v]) => `${escapeHtml(k)}: ${escapeHtml(v)}<br>`)
            .join('') +
          `<small>since ${rfc3339(a.startsAt)}${a.endsAt !== null ? `, until ${rfc3339(a.endsAt)}` : ''}` +
          (a.generatorURL ? ` · <a href="${escapeHtml(a.generatorURL)}">source</a>` : '') +
          `</small></td></tr>`,
      )
      .join('');
  const section = (title: string, alerts: typeof firing, color: string) =>
    alerts.length ? `<h3>${title}</h3><table cellspacing="0">${rows(alerts, color)}</table>` : '';
  return (
    `<!doctype html><html><body style="font-family:sans-serif">` +
    `<h2>${escapeHtml(titleOf(n))}</h2>` +
    section(`Firing (${firing.length})`, firing, '#d9534f') +
    section(`Resolved (${resolved.length})`, resolved, '#5cb85c') +
    `<p><a href="${escapeHtml(n.externalURL)}">Open the hub</a></p></body></html>`
  );
}

export function buildEmail(
  n: Notification,
  config: Pick<EmailConfig, 'from' | 'to' | 'headers'>,
): EmailMessage {
  return {
    from: config.from,
    to: config.to,
    subject: titleOf(n),
    text: textBody(n),
    html: htmlBody(n),
    headers: { ...config.headers },
  };
}

/** SMTP reply codes 4xx are transient; a failure without one is a connection problem. */
function smtpError(e: unknown, where: string): HubError {
  const err = e as { responseCode?: number; code?: string; message?: string };
  const transient = err.responseCode === undefined || (err.responseCode >= 400 && err.responseCode < 500);
  const permanentCodes = ['EAUTH', 'EENVELOPE', 'EMESSAGE'];
  const canRetry = transient && !permanentCodes.includes(err.code ?? '');
  return new HubError(canRetry ? 'UNAVAILABLE' : 'INTERNAL', `SMTP ${where}: ${err.message ?? String(e)}`, {
    cause: e,
    canRetry,
    where,
  });
}

export function createEmailIntegration(config: EmailConfig, index: number, timeoutMs: number): Integration {
  const { host, port } = config.smarthost;
  const transport = nodemailer.createTransport({
    host,
    port,
    secure: port === 465,
    requireTLS: port !== 465 && config.requireTls,
    ignoreTLS: port !== 465 && !config.requireTls,
    tls: { rejectUnauthorized: !config.insecureSkipVerify },
    ...(config.auth ? { auth: { user: config.auth.username, pass: config.auth.password } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  const where = `${host}:${port}`;
  return {
    kind: 'email',
    index,
    sendResolved: config.sendResolved,
    async send(n) {
      try {
        const info = await transport.sendMail(buildEmail(n, config));
        return { ok: true, status: Number(/^(\d{3})/.exec(String(info.response))?.[1] ?? 250) };
      } catch (e) {
        const error = smtpError(e, where);
        const code = (e as { responseCode?: number }).responseCode;
        return code === undefined ? { ok: false, error } : { ok: false, error, status: code };
      }
    },
    async close() {
      transport.close();
    },
  };
}
