//! Where a user's notifications go (`email`, `phone`), and whether it must
//! choose a new password before doing anything else (a provisioned or reset
//! account, whose one-time password someone else has seen).

const UP: &str = r#"
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN must_change_password BOOL NOT NULL DEFAULT FALSE;
"#;

const DOWN: &str = r#"
ALTER TABLE users DROP COLUMN must_change_password;
ALTER TABLE users DROP COLUMN phone;
ALTER TABLE users DROP COLUMN email;
"#;

crate::sql::ddl_migration!("m0007_user_contact", UP, DOWN);
