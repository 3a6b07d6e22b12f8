// Redaction for anything that may reach a log, trace or error message.

const SECRET_HEADERS = new Set(['authorization', 'www-authenticate', 'proxy-authorization', 'cookie', 'set-cookie']);

/** Keep the scheme of auth headers (useful for diagnosis), drop the credentials or token. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (SECRET_HEADERS.has(name.toLowerCase())) {
      out[name] = value.split(',').map((part) => {
        const scheme = /^\s*([A-Za-z][\w-]*)/.exec(part)?.[1];
        return scheme ? `${scheme} [redacted]` : '[redacted]';
      }).join(', ');
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** Replace every occurrence of the given secrets (and their base64/UTF-16 forms) in text. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of secretForms(secret)) out = out.split(form).join('[redacted]');
  }
  return out;
}

function secretForms(secret: string): string[] {
  const forms = new Set([secret, Buffer.from(secret, 'utf8').toString('base64'), Buffer.from(secret, 'utf16le').toString('base64'), encodeURIComponent(secret)]);
  return [...forms].filter((f) => f.length >= 3);
}
