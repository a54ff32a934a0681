/**
 * `email`: plain text over SMTP with nodemailer. TLS is required by default (STARTTLS on 587, or
 * implicit TLS on 465); `tls: none` is accepted only for a server on loopback (checked at load time).
 * The server's certificate is verified, against `ca_file` when given.
 */
import { readFileSync } from 'node:fs';
import type { AlertChannelConfig } from '../../config/types.js';
import { headline, plainText, type Notification } from '../notification.js';

type EmailChannel = Extract<AlertChannelConfig, { type: 'email' }>;

/** Connect, greeting and idle bounds: an SMTP server that stalls is down, and the delivery is retried. */
const SMTP_TIMEOUT_MS = 10_000;

export async function sendEmail(channel: EmailChannel, notification: Notification): Promise<void> {
  // Loaded on the first email only: every CLI call would otherwise pay for it at start.
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({
    host: channel.host,
    port: channel.port,
    secure: channel.tls === 'implicit',
    requireTLS: channel.tls === 'starttls',
    ignoreTLS: channel.tls === 'none',
    auth: channel.user === undefined ? undefined : { user: channel.user, pass: channel.password ?? '' },
    tls: channel.caFile === undefined ? undefined : { ca: readFileSync(channel.caFile) },
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
  });
  try {
    await transport.sendMail({
      from: channel.from,
      to: channel.to,
      subject: `[hightouch-like] ${headline(notification)}`,
      text: plainText(notification),
    });
  } finally {
    transport.close();
  }
}
