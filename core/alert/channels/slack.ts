/**
 * `slack`: an incoming webhook's `{"text": …}`. The text is the plain summary with the top error codes,
 * and holds no link: `&`, `<`, `>` are escaped as Slack asks, so a hostile value cannot make `<url|label>`
 * markup, and a scheme's `://` gets a zero-width space so Slack does not turn a bare URL into a link.
 */
import { plainText, type Notification } from '../notification.js';
import { postJson } from './post-json.js';

export function slackText(notification: Notification): string {
  return plainText(notification).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/:\/\//g, ':\u200b//');
}

export async function sendSlack(channel: { url: string }, notification: Notification): Promise<void> {
  await postJson(channel.url, JSON.stringify({ text: slackText(notification), unfurl_links: false, unfurl_media: false }));
}
