// Database URLs as they may be shown: the password replaced.

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`; anything unparsable → `(invalid URL)`. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}
