//! Rules of user accounts: what each role is attached to, and the first
//! administrator who can't be locked out.

use uuid::Uuid;

use crate::{FieldErrors, Role};

/// The username of the account created at first start.
pub const FIRST_ADMIN: &str = "admin";

/// A username: 3 to 32 of `a-z`, `0-9`, `.`, `_`, `-`.
pub fn valid_username(u: &str) -> bool {
    (3..=32).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// The longest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 50;

/// A display name, trimmed: 1 to 50 characters; `invalid` under
/// `display_name` otherwise.
pub fn display_name(f: &mut FieldErrors, d: &str) -> String {
    let d = d.trim();
    if d.is_empty() || d.chars().count() > DISPLAY_NAME_MAX {
        f.add("display_name", "invalid");
    }
    d.to_owned()
}

/// An e-mail address, trimmed (`None` when blank): one `@` between a local
/// part and a domain with a dot, no spaces, at most 254 characters; `invalid`
/// under `email` otherwise.
pub fn email(f: &mut FieldErrors, e: &str) -> Option<String> {
    let e = e.trim();
    if e.is_empty() {
        return None;
    }
    let ok = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && match e.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if !ok {
        f.add("email", "invalid");
    }
    Some(e.to_owned())
}

/// A phone number, trimmed (`None` when blank): 5 to 20 of digits, `+`, `-`
/// and spaces, with at least 5 digits (mobile 13812345678, landline
/// 0519-85123456); `invalid` under `phone` otherwise.
pub fn phone(f: &mut FieldErrors, p: &str) -> Option<String> {
    let p = p.trim();
    if p.is_empty() {
        return None;
    }
    let digits = p.chars().filter(char::is_ascii_digit).count();
    let ok = (5..=20).contains(&p.chars().count())
        && digits >= 5
        && p.chars().all(|c| c.is_ascii_digit() || "+- ".contains(c));
    if !ok {
        f.add("phone", "invalid");
    }
    Some(p.to_owned())
}

/// Why an account's logins end at once, if they do: it was disabled, or
/// its password changed.
pub fn revocation(
    was_disabled: bool,
    disabled: bool,
    password_changed: bool,
) -> Option<&'static str> {
    (disabled && !was_disabled)
        .then_some("disabled")
        .or(password_changed.then_some("password_changed"))
}

/// What an account is attached to.
#[derive(Debug, Clone, Copy)]
pub struct Assignment<'a> {
    /// `None`: the stored role is unreadable.
    pub role: Option<Role>,
    pub enterprise_id: Option<Uuid>,
    pub village_ids: &'a [Uuid],
}

impl Assignment<'_> {
    /// An enterprise user names one enterprise, an inspector at least one
    /// village, and no one else names either. Whether the named ones exist is
    /// for the caller to add (`unknown`).
    pub fn check(&self, f: &mut FieldErrors) {
        match (self.role, self.enterprise_id) {
            (Some(Role::Enterprise), None) => f.add("enterprise_id", "required"),
            (Some(Role::Enterprise), Some(_)) | (_, None) => {}
            (Some(_), Some(_)) => f.add("enterprise_id", "only_for_enterprise_role"),
            (None, Some(_)) => {}
        }
        let inspector = self.role == Some(Role::Inspector);
        if inspector && self.village_ids.is_empty() {
            f.add("village_ids", "required");
        }
        if !inspector && !self.village_ids.is_empty() {
            f.add("village_ids", "only_for_inspector_role");
        }
    }

    /// Whether the enterprise named must be looked up.
    pub fn names_enterprise(&self) -> Option<Uuid> {
        self.enterprise_id
            .filter(|_| self.role == Some(Role::Enterprise))
    }
}

/// A new account's own fields checked (`invalid` username, display name or
/// role, and what its role must be attached to): the username and display
/// name trimmed, and the role, when all are valid. Whether the enterprise and
/// villages exist is for the caller to add.
pub fn check_new(
    f: &mut FieldErrors,
    (username, display): (&str, &str),
    role: &str,
    enterprise_id: Option<Uuid>,
    village_ids: &[Uuid],
) -> Option<(String, String, Role)> {
    let username = username.trim().to_owned();
    if !valid_username(&username) {
        f.add("username", "invalid");
    }
    let display = display_name(f, display);
    let role: Option<Role> = role.parse().ok();
    if role.is_none() {
        f.add("role", "invalid");
    }
    Assignment {
        role,
        enterprise_id,
        village_ids,
    }
    .check(f);
    role.map(|r| (username, display, r))
}

/// Whether a role's accounts have villages (only inspectors do).
pub fn has_villages(role: Role) -> bool {
    role == Role::Inspector
}

/// Whether a change leaves the first administrator locked out: it must stay
/// an enabled admin.
pub fn locks_out_first_admin(username: &str, disabled: bool, role: Option<Role>) -> bool {
    username == FIRST_ADMIN && (disabled || role != Some(Role::Admin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_checked_and_blank_means_none() {
        let mut f = FieldErrors::new();
        assert_eq!(
            email(&mut f, " anquan@luoxi.gov.cn "),
            Some("anquan@luoxi.gov.cn".into())
        );
        assert_eq!(email(&mut f, "  "), None);
        assert_eq!(phone(&mut f, "0519-85123456"), Some("0519-85123456".into()));
        assert_eq!(phone(&mut f, "13812345678"), Some("13812345678".into()));
        assert!(f.is_empty());
        for bad in ["a@b", "@x.cn", "a b@x.cn", "a@x.cn.", "a@@x.cn"] {
            let mut f = FieldErrors::new();
            email(&mut f, bad);
            assert!(!f.is_empty(), "{bad}");
        }
        for bad in ["12ab5678", "1234", "+-+-+-"] {
            let mut f = FieldErrors::new();
            phone(&mut f, bad);
            assert!(!f.is_empty(), "{bad}");
        }
    }

    fn reasons(a: Assignment<'_>) -> FieldErrors {
        let mut f = FieldErrors::new();
        a.check(&mut f);
        f
    }

    #[test]
    fn each_role_names_what_it_is_attached_to() {
        let v = [Uuid::nil()];
        let e = Some(Uuid::nil());
        let f = reasons(Assignment {
            role: Some(Role::Enterprise),
            enterprise_id: None,
            village_ids: &[],
        });
        assert_eq!(f.0["enterprise_id"], vec!["required"]);
        let f = reasons(Assignment {
            role: Some(Role::Inspector),
            enterprise_id: e,
            village_ids: &[],
        });
        assert_eq!(f.0["enterprise_id"], vec!["only_for_enterprise_role"]);
        assert_eq!(f.0["village_ids"], vec!["required"]);
        let f = reasons(Assignment {
            role: Some(Role::Office),
            enterprise_id: None,
            village_ids: &v,
        });
        assert_eq!(f.0["village_ids"], vec!["only_for_inspector_role"]);
        assert!(
            reasons(Assignment {
                role: Some(Role::Inspector),
                enterprise_id: None,
                village_ids: &v
            })
            .is_empty()
        );
    }

    #[test]
    fn the_first_admin_stays_an_enabled_admin() {
        assert!(locks_out_first_admin("admin", true, Some(Role::Admin)));
        assert!(locks_out_first_admin("admin", false, Some(Role::Office)));
        assert!(!locks_out_first_admin("admin", false, Some(Role::Admin)));
        assert!(!locks_out_first_admin("wang", true, Some(Role::Office)));
    }
}
