/**
 * Database URLs, without loading a driver (`pg` is loaded only when a postgres:// URL is opened).
 */

/** `postgres://user:pass@host/db` with the password hidden, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable)';
  }
}

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}
