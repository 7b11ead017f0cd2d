// Credentials never reach a message, a log line or a stored file through a URL.

/** `https://user:pw@host/x` → `https://***@host/x`; anything that is not such a URL is left alone. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/i, '$1***@');
}

/** Every URL with credentials inside a free text (an error message from a library). */
export function redactUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/gi, '$1***@');
}
