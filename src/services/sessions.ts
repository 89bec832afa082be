import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Actor } from '../domain/access/actor.js';
import { LatchkeyError } from '../domain/errors.js';
import type { TokenDigester } from '../domain/tokens/digest.js';
import { sessionActor } from '../domain/users/access.js';
import type { User } from '../domain/users/user.js';
import type { SessionStore } from '../storage/session-store.js';
import type { UserStore } from '../storage/user-store.js';
import type { AttemptLimiter } from './attempt-limiter.js';
import { hashPassword, needsRehash, verifyPassword } from './passwords.js';
import type { Clock } from './runtime.js';

export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;
/** How long a browser stays known to an account after its last sign-in there (see deviceOf). */
export const DEVICE_LIFETIME_MS = 180 * 24 * 60 * 60 * 1000;

type Deps = {
  users: UserStore;
  sessions: SessionStore;
  digest: TokenDigester;
  secret: Uint8Array;
  clock: Clock;
  /** Failed sign-ins per account (from browsers it never signed in from), per known browser, and per address. */
  accountAttempts: AttemptLimiter;
  deviceAttempts: AttemptLimiter;
  addressAttempts: AttemptLimiter;
};

/** `device`: the browser's device cookie for this account, to set (again) with the session cookie. */
export type SignedIn = { user: User; sessionId: string; csrfToken: string; expiresAt: Date; device: string };
export type SessionAuth = { actor: Actor; csrfToken: string; user: User; expiresAt: Date };

/** Console sign-in: a random session id in an HttpOnly cookie, stored as a digest only. */
export function createSessionService(deps: Deps) {
  // Compared against when the account does not exist, so both paths cost one scrypt.
  const decoy = hashPassword(randomBytes(16).toString('hex'));

  const csrfFor = (sessionId: string): string =>
    createHmac('sha256', Buffer.from(deps.secret)).update(`csrf:${sessionId}`).digest('base64url');

  // The MAC covers the password as it is stored: a new password (or the same one hashed again)
  // ends every device cookie of the account.
  const deviceMac = (userId: string, nonce: string, issued: string, passwordHash: string): string =>
    createHmac('sha256', Buffer.from(deps.secret)).update(`device:${userId}:${nonce}:${issued}:${passwordHash}`).digest('base64url');

  const newDevice = (userId: string, passwordHash: string): string => {
    const nonce = randomBytes(16).toString('base64url');
    const issued = deps.clock.now().getTime().toString(36);
    return `${userId}.${nonce}.${issued}.${deviceMac(userId, nonce, issued, passwordHash)}`;
  };

  /**
   * Device cookies (OWASP's defence against account lockout): a browser that signed in to an
   * account is handed a cookie naming that account, when it was issued, and a MAC under the
   * server's secret over those and the account's stored password. Its sign-ins to that account
   * count against a limit of their own, not the account's, so whoever locks the account by
   * guessing from elsewhere does not lock its user out of the browsers they use. The cookie grants
   * nothing: it only chooses which limit a sign-in counts against, a browser guessing with one is
   * limited as strictly as the account is, and it ends DEVICE_LIFETIME_MS after it was issued or
   * when the password changes, so cookies collected while the password was known buy no guesses
   * after a reset. Answers the device (the cookie's nonce) when `cookie` is such a cookie for
   * `userId` and `passwordHash`.
   */
  function deviceOf(cookie: string | undefined, userId: string, passwordHash: string): string | undefined {
    if (!cookie || cookie.length > 256) return undefined;
    const [id, nonce, issued, mac, ...rest] = cookie.split('.');
    if (rest.length > 0 || id !== userId || !nonce || !issued || !mac) return undefined;
    const issuedMs = parseInt(issued, 36);
    if (!(issuedMs + DEVICE_LIFETIME_MS > deps.clock.now().getTime())) return undefined;
    const expected = Buffer.from(deviceMac(userId, nonce, issued, passwordHash));
    const given = Buffer.from(mac);
    return expected.length === given.length && timingSafeEqual(expected, given) ? nonce : undefined;
  }

  const limited = (decision: { retryAfterSeconds: number; limit: number }) =>
    new LatchkeyError('rate_limited', 'too many failed sign-ins: try again later', { retry_after_seconds: decision.retryAfterSeconds, limit: decision.limit });

  /**
   * Claims a try against both limits before the password is checked: the one for `counted` (an
   * account's email, or a known browser's device with `deviceAttempts`) and the address's. A try
   * counts against them while it runs, so guesses sent all at once get no more tries than guesses
   * sent one by one. Returns the release, to call once the outcome is counted.
   */
  function claimAttempt(counted: string, ip: string, limiter: AttemptLimiter = deps.accountAttempts): () => void {
    const own = limiter.claim(counted);
    if (!own.allowed) throw limited(own);
    const address = deps.addressAttempts.claim(ip);
    if (!address.allowed) {
      own.release();
      throw limited(address);
    }
    return () => {
      own.release();
      address.release();
    };
  }

  return {
    /** `from.device`: the device cookie the browser sent, if any (deviceOf). */
    async signIn(input: { email: string; password: string }, from: { ip: string; userAgent: string | null; device?: string | undefined }): Promise<SignedIn> {
      const email = input.email.trim().toLowerCase();
      const found = await deps.users.findCredentials(email);
      // A browser this account signed in from before counts its failures apart from the account's.
      const device = found ? deviceOf(from.device, found.user.id, found.passwordHash) : undefined;
      const [limiter, counted] = device ? [deps.deviceAttempts, device] : [deps.accountAttempts, email];
      const release = claimAttempt(counted, from.ip, limiter);
      try {
        const ok = await verifyPassword(input.password, found?.passwordHash ?? (await decoy));
        if (!found || !ok) {
          limiter.fail(counted);
          deps.addressAttempts.fail(from.ip);
          throw new LatchkeyError('invalid_credentials', 'the email or password is wrong');
        }
        if (found.user.status === 'active') limiter.reset(counted);
      } finally {
        release();
      }
      if (found.user.status !== 'active') throw new LatchkeyError('user_deactivated', 'this user is deactivated');
      const sessionId = randomBytes(32).toString('base64url');
      const now = deps.clock.now();
      const expiresAt = new Date(now.getTime() + SESSION_LIFETIME_MS);
      const session = { digest: deps.digest(sessionId), userId: found.user.id, createdAt: now, expiresAt, ip: from.ip, userAgent: from.userAgent };
      // Made with weaker parameters than today's: hashed again now that the password is at hand
      // (unless the password changed meanwhile), before the session, so a failure leaves none.
      let passwordHash = found.passwordHash;
      if (needsRehash(passwordHash)) {
        const stronger = await hashPassword(input.password);
        if (await deps.users.rehashPassword(found.user.id, passwordHash, stronger)) passwordHash = stronger;
      }
      // The password may have changed since it was read: a session only for the password as it is.
      let opened = await deps.sessions.insertIfCredentialsHold(session, passwordHash);
      if (!opened) {
        // Or the same password hashed again by another sign-in meanwhile: checked once more.
        const current = await deps.users.findCredentials(email);
        if (current?.user.id === found.user.id && current.passwordHash !== passwordHash && (await verifyPassword(input.password, current.passwordHash))) {
          passwordHash = current.passwordHash;
          opened = await deps.sessions.insertIfCredentialsHold(session, passwordHash);
        }
      }
      if (!opened) throw new LatchkeyError('invalid_credentials', 'the email or password is wrong');
      // A fresh cookie at every sign-in: a browser in use stays known; bound to the password as it is now.
      return { user: found.user, sessionId, csrfToken: csrfFor(sessionId), expiresAt, device: newDevice(found.user.id, passwordHash) };
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
