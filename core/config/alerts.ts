/**
 * `alerts:` of the project file (channels, default triggers, reminder, delivery retry) and of a sync
 * file (its own triggers, reminder and channels). Parsed once at load time; the JSON Schema fragments
 * are here too so the loader and `schemas/` agree.
 */
import { isAbsolute, resolve } from 'node:path';
import { UserError } from '../../shared/errors.js';
import { parseInterval } from './schedule.js';
import type { AlertChannelConfig, AlertTriggers, AlertsConfig, RetryPolicy, SyncAlerts } from './types.js';

/**
 * LinkPoint alerts after 10 failures in a row; a run whose rows are three quarters refused is as good
 * as failed. A single failed run is not news by default: the next run usually succeeds.
 */
export const DEFAULT_TRIGGERS: AlertTriggers = {
  run_failed: false,
  consecutive_failures: 10,
  rejected_share: 0.75,
  credentials_required: true,
  paused_by_policy: true,
  recovery: true,
};

/** Backoff (ms): 1000, 2000, 4000, 8000 between 5 attempts, about 15 s in all. */
export const DEFAULT_ALERT_RETRY: RetryPolicy = { attempts: 5, base_delay_ms: 1000, max_delay_ms: 30_000 };

const triggersSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Which changes of a sync health send a notification.',
  properties: {
    run_failed: { type: 'boolean', description: 'A run failed (the first failure of a series). Default: false.' },
    consecutive_failures: {
      type: ['integer', 'boolean'],
      minimum: 1,
      description: 'This many failed runs in a row (true: 10); false turns it off. Default: 10.',
    },
    rejected_share: {
      type: ['number', 'boolean'],
      exclusiveMinimum: 0,
      maximum: 1,
      description: 'A completed run whose rejected rows exceed this share of the rows sent (true: 0.75). Default: 0.75.',
    },
    credentials_required: { type: 'boolean', description: 'The destination refused the credentials. Default: true.' },
    paused_by_policy: { type: 'boolean', description: 'The engine paused the sync. Default: true.' },
    recovery: { type: 'boolean', description: 'A sync with an open alert is healthy again. Default: true.' },
  },
};

const reminderSchema = {
  type: 'string',
  description: 'Repeat an unresolved alert this often (e.g. 1d, 12h), at the next run after it is due. Default: never.',
};

const retrySchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Delivery attempts per notification and channel, with exponential backoff. Default: 5 attempts from 1 s.',
  properties: {
    attempts: { type: 'integer', minimum: 1, maximum: 20 },
    base_delay_ms: { type: 'integer', minimum: 0 },
    max_delay_ms: { type: 'integer', minimum: 0 },
  },
};

const channelSchema = {
  type: 'object',
  required: ['type'],
  properties: { type: { enum: ['webhook', 'slack', 'email'] } },
  allOf: [
    {
      if: { properties: { type: { const: 'webhook' } }, required: ['type'] },
      then: {
        type: 'object',
        additionalProperties: false,
        required: ['url', 'secret'],
        properties: {
          type: { const: 'webhook' },
          url: { type: 'string', minLength: 1, description: 'http(s) URL the JSON body is POSTed to.' },
          secret: {
            type: 'string',
            minLength: 16,
            description: 'HMAC-SHA256 key, from ${ENV}: the body is signed in the X-Hightouch-Like-Signature header.',
          },
        },
      },
    },
    {
      if: { properties: { type: { const: 'slack' } }, required: ['type'] },
      then: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: {
          type: { const: 'slack' },
          url: { type: 'string', minLength: 1, description: 'Slack incoming-webhook URL, from ${ENV} (it is a secret).' },
        },
      },
    },
    {
      if: { properties: { type: { const: 'email' } }, required: ['type'] },
      then: {
        type: 'object',
        additionalProperties: false,
        required: ['host', 'from', 'to'],
        properties: {
          type: { const: 'email' },
          host: { type: 'string', minLength: 1, description: 'SMTP server.' },
          port: { type: 'integer', minimum: 1, maximum: 65535, description: 'Default: 465 for tls: implicit, else 587.' },
          tls: {
            enum: ['starttls', 'implicit', 'none'],
            description: 'starttls (default): STARTTLS is required; implicit: TLS from the first byte; none: only on loopback.',
          },
          ca_file: { type: 'string', minLength: 1, description: 'PEM file of a private CA the server certificate is checked against.' },
          user: { type: 'string', minLength: 1, description: 'SMTP user, from ${ENV}.' },
          password: { type: 'string', minLength: 1, description: 'SMTP password, from ${ENV}.' },
          from: { type: 'string', minLength: 3 },
          to: { type: 'array', minItems: 1, items: { type: 'string', minLength: 3 } },
        },
      },
    },
  ],
};

export function projectAlertsSchema(): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    description: 'Sync health notifications: where they go and what sends one (README "Health and alerts").',
    properties: {
      channels: { type: 'object', description: 'Channels by name.', additionalProperties: channelSchema },
      triggers: triggersSchema,
      reminder: reminderSchema,
      retry: retrySchema,
    },
  };
}

export function syncAlertsSchema(): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    description: "This sync's alert triggers and channels, over the project's.",
    properties: {
      triggers: triggersSchema,
      reminder: reminderSchema,
      channels: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        description: "Names of the project's channels this sync notifies. Default: all of them.",
      },
    },
  };
}

interface Where {
  file: string;
  line?: number;
}

type RawTriggers = Partial<Record<keyof AlertTriggers, number | boolean>>;

function triggers(raw: RawTriggers | undefined): Partial<AlertTriggers> {
  const out: Partial<AlertTriggers> = {};
  if (!raw) return out;
  for (const key of ['run_failed', 'credentials_required', 'paused_by_policy', 'recovery'] as const) {
    if (raw[key] !== undefined) out[key] = raw[key] as boolean;
  }
  if (raw.consecutive_failures !== undefined)
    out.consecutive_failures = raw.consecutive_failures === true ? DEFAULT_TRIGGERS.consecutive_failures : raw.consecutive_failures;
  if (raw.rejected_share !== undefined)
    out.rejected_share = raw.rejected_share === true ? DEFAULT_TRIGGERS.rejected_share : raw.rejected_share;
  return out;
}

function reminder(text: string | undefined, where: Where, field: string): number | null {
  if (text === undefined) return null;
  const ms = parseInterval(text);
  if (!ms) throw new UserError(`"${text}" is not an interval`, { ...where, field, hint: 'write e.g. 1d, 12h or 30m.' });
  return ms;
}

const LOOPBACK = ['127.0.0.1', '::1', 'localhost'];

function channel(name: string, raw: Record<string, unknown>, dir: string, where: Where): AlertChannelConfig {
  const field = `alerts.channels.${name}`;
  if (raw.type === 'webhook' || raw.type === 'slack') {
    const url = String(raw.url);
    if (!/^https?:\/\/[^/]/i.test(url))
      throw new UserError(`"${url}" is not an http(s) URL`, { ...where, field: `${field}.url`, hint: 'write https://host/path.' });
    return raw.type === 'webhook' ? { name, type: 'webhook', url, secret: String(raw.secret) } : { name, type: 'slack', url };
  }
  const host = String(raw.host);
  const tls = (raw.tls as 'starttls' | 'implicit' | 'none' | undefined) ?? 'starttls';
  if (tls === 'none' && !LOOPBACK.includes(host)) {
    throw new UserError(`none would send the SMTP password and the alert in clear to ${host}`, {
      ...where,
      field: `${field}.tls`,
      hint: 'use starttls or implicit; none is allowed only for a server on loopback.',
    });
  }
  const email: AlertChannelConfig = {
    name,
    type: 'email',
    host,
    port: (raw.port as number | undefined) ?? (tls === 'implicit' ? 465 : 587),
    tls,
    from: String(raw.from),
    to: (raw.to as string[]).map(String),
  };
  if (raw.ca_file !== undefined) email.caFile = isAbsolute(String(raw.ca_file)) ? String(raw.ca_file) : resolve(dir, String(raw.ca_file));
  if (raw.user !== undefined) email.user = String(raw.user);
  if (raw.password !== undefined) email.password = String(raw.password);
  return email;
}

export interface RawProjectAlerts {
  channels?: Record<string, Record<string, unknown>>;
  triggers?: RawTriggers;
  reminder?: string;
  retry?: Partial<RetryPolicy>;
}

export function parseProjectAlerts(
  raw: RawProjectAlerts | undefined,
  dir: string,
  file: string,
  lines: Record<string, number>,
): AlertsConfig {
  const lineOf = (key: string) => lines[key] ?? lines.alerts;
  const channels: Record<string, AlertChannelConfig> = Object.create(null);
  for (const [name, value] of Object.entries(raw?.channels ?? {})) {
    channels[name] = channel(name, value, dir, { file, line: lineOf(`alerts.channels.${name}`) });
  }
  return {
    channels,
    triggers: { ...DEFAULT_TRIGGERS, ...triggers(raw?.triggers) },
    reminderMs: reminder(raw?.reminder, { file, line: lineOf('alerts.reminder') }, 'alerts.reminder'),
    retry: { ...DEFAULT_ALERT_RETRY, ...raw?.retry },
  };
}

export interface RawSyncAlerts {
  triggers?: RawTriggers;
  reminder?: string;
  channels?: string[];
}

export function parseSyncAlerts(raw: RawSyncAlerts | undefined, where: Where): SyncAlerts | undefined {
  if (!raw) return undefined;
  const alerts: SyncAlerts = { triggers: triggers(raw.triggers) };
  const ms = reminder(raw.reminder, where, 'alerts.reminder');
  if (ms !== null) alerts.reminderMs = ms;
  if (raw.channels) alerts.channels = [...raw.channels];
  return alerts;
}

/** A sync naming a channel the project lacks: its file and line. */
export function checkSyncChannels(alerts: SyncAlerts | undefined, known: Record<string, unknown>, where: Where): void {
  for (const name of alerts?.channels ?? []) {
    if (!Object.hasOwn(known, name)) {
      throw new UserError(`"${name}" is not a channel of the project`, {
        ...where,
        field: 'alerts.channels',
        hint: `channels under alerts.channels in the project file: ${Object.keys(known).join(', ') || 'none'}.`,
      });
    }
  }
}

/** What one sync's alerting comes to: the project's defaults under the sync's own keys. */
export interface AlertPolicy {
  triggers: AlertTriggers;
  reminderMs: number | null;
  channels: AlertChannelConfig[];
  retry: RetryPolicy;
}

export function alertPolicy(project: AlertsConfig, sync: SyncAlerts | undefined): AlertPolicy {
  const names = sync?.channels ?? Object.keys(project.channels);
  return {
    triggers: { ...project.triggers, ...sync?.triggers },
    reminderMs: sync?.reminderMs ?? project.reminderMs,
    channels: names.map((name) => project.channels[name]),
    retry: project.retry,
  };
}
