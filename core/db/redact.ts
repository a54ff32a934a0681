/** Masks secrets before text reaches a log line, an error or the state store. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^/@:]*):([^/@]*)@/, '//$1:***@');
}

export function redact(text: string, secrets: string[]): string {
  let out = text.replace(/(\w+:\/\/[^/@:\s]*):([^/@\s]*)@/g, '$1:***@');
  // Longest first, so a secret that contains another is masked whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}
