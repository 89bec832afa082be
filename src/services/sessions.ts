import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Actor } from '../domain/access/actor.js';
import { LatchkeyError } from '../domain/errors.js';
import type { TokenDigester } from '../domain/tokens/digest.js';
import { sessionActor } from '../domain/users/access.js';
import type { User } from '../domain/users/user.js';
import type { SessionStore } from '../storage/session-store.js';
import type { UserStore } from '../storage/user-store.js';
import type { AttemptLimiter } from './attempt-limiter.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { Clock } from './runtime.js';

export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;

type Deps = {
  users: UserStore;
  sessions: SessionStore;
  digest: TokenDigester;
  secret: Uint8Array;
  clock: Clock;
  /** Failed sign-ins per account and per address. */
  accountAttempts: AttemptLimiter;
  addressAttempts: AttemptLimiter;
};

export type SignedIn = { user: User; sessionId: string; csrfToken: string; expiresAt: Date };
export type SessionAuth = { actor: Actor; csrfToken: string; user: User; expiresAt: Date };

/** Console sign-in: a random session id in an HttpOnly cookie, stored as a digest only. */
export function createSessionService(deps: Deps) {
  // Compared against when the account does not exist, so both paths cost one scrypt.
  const decoy = hashPassword(randomBytes(16).toString('hex'));

  const csrfFor = (sessionId: string): string =>
    createHmac('sha256', Buffer.from(deps.secret)).update(`csrf:${sessionId}`).digest('base64url');

  const limited = (decision: { retryAfterSeconds: number; limit: number }) =>
    new LatchkeyError('rate_limited', 'too many failed sign-ins: try again later', { retry_after_seconds: decision.retryAfterSeconds, limit: decision.limit });

  /**
   * Claims a try against both limits before the password is checked: a try counts against them
   * while it runs, so guesses sent all at once get no more tries than guesses sent one by one.
   * Returns the release, to call once the outcome is counted.
   */
  function claimAttempt(email: string, ip: string): () => void {
    const account = deps.accountAttempts.claim(email);
    if (!account.allowed) throw limited(account);
    const address = deps.addressAttempts.claim(ip);
    if (!address.allowed) {
      account.release();
      throw limited(address);
    }
    return () => {
      account.release();
      address.release();
    };
  }

  return {
    async signIn(input: { email: string; password: string }, from: { ip: string; userAgent: string | null }): Promise<SignedIn> {
      const email = input.email.trim().toLowerCase();
      const release = claimAttempt(email, from.ip);
      let found: Awaited<ReturnType<UserStore['findCredentials']>>;
      try {
        found = await deps.users.findCredentials(email);
        const ok = await verifyPassword(input.password, found?.passwordHash ?? (await decoy));
        if (!found || !ok) {
          deps.accountAttempts.fail(email);
          deps.addressAttempts.fail(from.ip);
          throw new LatchkeyError('invalid_credentials', 'the email or password is wrong');
        }
        if (found.user.status === 'active') deps.accountAttempts.reset(email);
      } finally {
        release();
      }
      if (found.user.status !== 'active') throw new LatchkeyError('user_deactivated', 'this user is deactivated');
      const sessionId = randomBytes(32).toString('base64url');
      const now = deps.clock.now();
      const expiresAt = new Date(now.getTime() + SESSION_LIFETIME_MS);
      // The password may have changed since it was read: a session only for the password as it is.
      const opened = await deps.sessions.insertIfCredentialsHold(
        { digest: deps.digest(sessionId), userId: found.user.id, createdAt: now, expiresAt, ip: from.ip, userAgent: from.userAgent }, found.passwordHash,
      );
      if (!opened) throw new LatchkeyError('invalid_credentials', 'the email or password is wrong');
      return { user: found.user, sessionId, csrfToken: csrfFor(sessionId), expiresAt };
    },

    /**
     * A signed-in user changing their own password proves they know the current one, so a session
     * taken over (a cookie and its CSRF token) cannot lock its user out. Wrong answers count as
     * failed sign-ins, for the account and the address, so this is no way around their limits.
     */
    async confirmPassword(user: User, password: string | undefined, ip: string): Promise<void> {
      if (password === undefined) {
        throw new LatchkeyError('validation_failed', 'changing your own password needs current_password too', { field: 'current_password' });
      }
      const release = claimAttempt(user.email, ip);
      try {
        const found = await deps.users.findCredentials(user.email);
        if (found && found.user.id === user.id && (await verifyPassword(password, found.passwordHash))) return;
        deps.accountAttempts.fail(user.email);
        deps.addressAttempts.fail(ip);
      } finally {
        release();
      }
      throw new LatchkeyError('validation_failed', 'current_password is not this user\'s password', { field: 'current_password' });
    },

    /** The signed-in user behind a session cookie, or null when it is unknown, expired or its user is gone. */
    async authenticate(sessionId: string): Promise<SessionAuth | null> {
      if (sessionId.length > 128) return null;
      const session = await deps.sessions.find(deps.digest(sessionId));
      if (!session || session.expiresAt.getTime() <= deps.clock.now().getTime()) return null;
      const user = await deps.users.findById(session.userId);
      if (!user || user.status !== 'active') return null;
      return { actor: sessionActor(user, await deps.users.membershipsOf(user.id)), csrfToken: csrfFor(sessionId), user, expiresAt: session.expiresAt };
    },

    csrfMatches(expected: string, given: string | undefined): boolean {
      if (!given) return false;
      const a = Buffer.from(expected);
      const b = Buffer.from(given);
      return a.length === b.length && timingSafeEqual(a, b);
    },

    async signOut(sessionId: string): Promise<void> {
      await deps.sessions.delete(deps.digest(sessionId));
    },

    /** Deletes the sessions that have expired (each row holds its user's address and browser); says how many. */
    purgeExpired(): Promise<number> {
      return deps.sessions.purgeExpired(deps.clock.now());
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
