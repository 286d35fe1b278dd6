//! Rules of signing in: how many password attempts a window allows, when a
//! login is still live, and what a presented refresh token leads to.

use chrono::{DateTime, Utc};

/// How long a login lives without being refreshed.
pub const LOGIN_TTL: chrono::Duration = chrono::Duration::days(30);
/// Attempts allowed per username within [`FAILURE_WINDOW`], successful ones
/// not counted.
pub const MAX_FAILURES: i64 = 5;
/// Attempts allowed per client address in a window: ten usernames' worth.
pub const MAX_CLIENT_FAILURES: i64 = MAX_FAILURES * 10;
pub const FAILURE_WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// The attempts counted under one key (a username or a client address) in
/// the window that is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub count: i64,
    pub window_started_at: DateTime<Utc>,
}

impl Attempts {
    /// Seconds until the window ends, when the count went past `max` in it.
    fn wait(self, max: i64, now: DateTime<Utc>) -> Option<u64> {
        (self.count > max).then(|| {
            ((self.window_started_at + FAILURE_WINDOW) - now)
                .num_seconds()
                .max(1) as u64
        })
    }
}

/// Seconds a client must wait before its password is even checked, when the
/// username or the client address is past its limit (the longer wait wins).
pub fn wait_before_check(user: Attempts, client: Attempts, now: DateTime<Utc>) -> Option<u64> {
    user.wait(MAX_FAILURES, now)
        .max(client.wait(MAX_CLIENT_FAILURES, now))
}

/// A login as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginState {
    pub revoked: bool,
    pub expires_at: DateTime<Utc>,
}

impl LoginState {
    /// Neither revoked nor expired at `now`.
    pub fn is_live(self, now: DateTime<Utc>) -> bool {
        !self.revoked && self.expires_at > now
    }
}

/// A password that matched opens a login only for an enabled account.
pub fn may_sign_in(password_matches: bool, disabled: bool) -> bool {
    password_matches && !disabled
}

/// What a presented refresh token leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Exchange it for a new one and extend the login by [`LOGIN_TTL`].
    Rotate,
    /// It was already exchanged: it leaked, so its whole login ends.
    Reused,
    /// Its login is over; nothing changes.
    Dead,
}

/// The rule for a known refresh token of a login in `login` state.
pub fn refresh(login: LoginState, already_rotated: bool, now: DateTime<Utc>) -> Refresh {
    match (login.is_live(now), already_rotated) {
        (false, _) => Refresh::Dead,
        (true, true) => Refresh::Reused,
        (true, false) => Refresh::Rotate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + min * 60, 0).unwrap_or_default()
    }

    #[test]
    fn the_sixth_attempt_for_a_username_waits_for_the_window_to_end() {
        let client = Attempts {
            count: 1,
            window_started_at: at(0),
        };
        let user = |count| Attempts {
            count,
            window_started_at: at(0),
        };
        assert_eq!(wait_before_check(user(5), client, at(5)), None);
        assert_eq!(wait_before_check(user(6), client, at(5)), Some(600));
        // A window about to end still asks for a second.
        assert_eq!(
            wait_before_check(user(6), client, at(15) - chrono::Duration::milliseconds(1)),
            Some(1)
        );
    }

    #[test]
    fn a_client_address_gets_ten_usernames_worth_of_attempts() {
        let user = Attempts {
            count: 1,
            window_started_at: at(0),
        };
        let client = |count| Attempts {
            count,
            window_started_at: at(0),
        };
        assert_eq!(wait_before_check(user, client(50), at(1)), None);
        assert_eq!(wait_before_check(user, client(51), at(1)), Some(14 * 60));
    }

    #[test]
    fn a_login_is_live_until_it_expires_or_is_revoked() {
        let l = LoginState {
            revoked: false,
            expires_at: at(10),
        };
        assert!(l.is_live(at(9)));
        assert!(!l.is_live(at(10)));
        assert!(!LoginState { revoked: true, ..l }.is_live(at(9)));
    }

    #[test]
    fn a_refresh_token_rotates_once_and_a_second_use_ends_the_login() {
        let live = LoginState {
            revoked: false,
            expires_at: at(10),
        };
        assert_eq!(refresh(live, false, at(1)), Refresh::Rotate);
        assert_eq!(refresh(live, true, at(1)), Refresh::Reused);
        assert_eq!(refresh(live, true, at(11)), Refresh::Dead);
        assert_eq!(refresh(live, false, at(11)), Refresh::Dead);
    }

    #[test]
    fn a_disabled_account_does_not_sign_in_even_with_its_password() {
        assert!(may_sign_in(true, false));
        assert!(!may_sign_in(true, true));
        assert!(!may_sign_in(false, false));
    }
}
