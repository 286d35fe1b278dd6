//! Messages to deliver (e-mail, webhooks): written in the transaction of
//! what they announce, sent by a worker, retried with backoff until they go,
//! never dropped. `dedupe_key` makes an event's message unique (a report's
//! week, a hazard's event); the row's id travels with the message (the
//! mail's Message-ID, a webhook's delivery id) so that a receiver can tell
//! the one duplicate a crash after its acceptance can cause.

const UP: &str = r#"
CREATE TABLE outbox (
    id UUID PRIMARY KEY,
    channel TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    payload JSONB NOT NULL,
    status TEXT NOT NULL,
    attempts I64 NOT NULL,
    next_attempt_at TSTZ NOT NULL,
    last_error TEXT,
    holder TEXT,
    created_at TSTZ NOT NULL,
    sent_at TSTZ
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
"#;

const DOWN: &str = r#"
DROP TABLE outbox;
"#;

crate::sql::ddl_migration!("m0009_outbox", UP, DOWN);
