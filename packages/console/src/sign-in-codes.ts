// One-time sign-in codes for the dev scenario's parties: single use, short-lived, stored only as digests.
import { createHash } from 'node:crypto';
import { type Clock, newSecretToken, type SqlDatabase } from '@sealroom/core';
import { ConsoleError } from './errors.ts';

export const SIGN_IN_CODE_TTL_MS = 10 * 60 * 1000;
const CODE_PREFIX = 'srs1';
const MAX_CODE_CHARS = 128;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE console_sign_in_codes (
     digest TEXT PRIMARY KEY,
     email TEXT NOT NULL,
     expire_time INTEGER NOT NULL,
     used INTEGER NOT NULL DEFAULT 0
   );`,
];

export interface SignInCodes {
  /** A fresh code for `email`, valid once within SIGN_IN_CODE_TTL_MS. */
  mint(email: string): Promise<string>;
  /** Uses the code up and returns its account; ERR_CONSOLE_SIGN_IN_CODE when unknown, used or expired. */
  redeem(code: string): Promise<string>;
}

function digestOf(code: string): string {
  return createHash('sha256').update(code).digest('hex');
}

/** The table is shared by every replica, so a code works once whichever replica the page reaches. */
export async function openSignInCodes(db: SqlDatabase, clock: Clock): Promise<SignInCodes> {
  await db.migrate('console', MIGRATIONS);
  const refused = () => new ConsoleError('ERR_CONSOLE_SIGN_IN_CODE', 'The sign-in code is unknown, used or expired.');
  return {
    async mint(email) {
      const code = newSecretToken(CODE_PREFIX);
      const now = clock.now();
      await db.run('DELETE FROM console_sign_in_codes WHERE expire_time < ?', [now]);
      await db.run('INSERT INTO console_sign_in_codes (digest, email, expire_time) VALUES (?, ?, ?)', [
        digestOf(code),
        email.toLowerCase(),
        now + SIGN_IN_CODE_TTL_MS,
      ]);
      return code;
    },
    async redeem(code) {
      if (!code.startsWith(`${CODE_PREFIX}.`) || code.length > MAX_CODE_CHARS) throw refused();
      const digest = digestOf(code);
      // The conditional update is the single-use check: of two concurrent redemptions only one changes the row.
      const used = await db.run(
        'UPDATE console_sign_in_codes SET used = 1 WHERE digest = ? AND used = 0 AND expire_time > ?',
        [digest, clock.now()],
      );
      if (used.changes !== 1) throw refused();
      const row = await db.get<{ email: string }>('SELECT email FROM console_sign_in_codes WHERE digest = ?', [digest]);
      if (!row) throw refused();
      return row.email;
    },
  };
}
