# Longer recipes; the README's two commands need nothing but cargo.

pg := "postgres://postgres@127.0.0.1:5432/postgres"

# Serve on the embedded default (SQLite + data dir), seeded.
run:
    cargo run --release

# Serve with the demo accounts.
demo:
    cargo run --release -- serve --demo

# The whole suite on SQLite.
test:
    cargo test --workspace

# The whole suite on PostgreSQL.
test-pg:
    ANJIAN_TEST_DATABASE_URL={{pg}} cargo test --workspace

# What CI runs.
ci:
    bash .ci/run

# Regenerate seeds/enterprises.csv (deterministic).
roster:
    cargo run -- roster generate --out seeds/enterprises.csv

# Drop the per-test PostgreSQL databases and templates.
clean-test-dbs:
    psql {{pg}} -qAtc "SELECT datname FROM pg_database WHERE datname LIKE 'anjian\_t\_%' OR datname LIKE 'anjian\_crash\_%' OR datname LIKE 'anjian\_tpl\_%'" | while read -r db; do psql {{pg}} -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"; done

# Fuzz the API from its OpenAPI document with schemathesis, as every role
# (`just fuzz postgres 100`, `just fuzz sqlite 40 admin`); needs `pip install schemathesis`.
fuzz backend="sqlite" examples="40" *roles="":
    bash tests/fuzz/fuzz.sh {{backend}} {{examples}} {{roles}}

# Benchmarks (`just bench sync`), on PostgreSQL (`report` on SQLite first,
# then on PostgreSQL); they print a table.
bench what:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ "{{what}}" = report ]; then cargo bench -p anjian-tests --bench report; fi
    ANJIAN_TEST_DATABASE_URL={{pg}} cargo bench -p anjian-tests --bench {{what}}
