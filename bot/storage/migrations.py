"""This module contains the database's schema as ordered lists of migrations, one per engine.

Each entry moves the schema one version up (SQLite's PRAGMA user_version, PostgreSQL's
schema_version table count them); the two lists move in step, version for version. Never edit
a migration that has shipped: append a new one to both lists.
"""

SQLITE_MIGRATIONS: list[str] = [
    # 1: conversations, the ledger (outbox) and the embedded complaint desk.
    """
    CREATE TABLE conversations (
        user_id     INTEGER PRIMARY KEY,
        chat_id     INTEGER NOT NULL,
        state       TEXT    NOT NULL,
        draft       TEXT    NOT NULL,
        updated_at  REAL    NOT NULL
    );
    CREATE INDEX conversations_by_age ON conversations (updated_at);

    CREATE TABLE complaints (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key  TEXT    NOT NULL UNIQUE,
        user_id          INTEGER NOT NULL,
        chat_id          INTEGER NOT NULL,
        backend          TEXT    NOT NULL,
        envelope         TEXT    NOT NULL,
        order_id         TEXT    NOT NULL,
        category         TEXT    NOT NULL,
        language         TEXT    NOT NULL,
        from_deep_link   INTEGER NOT NULL DEFAULT 0,
        state            TEXT    NOT NULL
                         CHECK (state IN ('pending', 'registered', 'rejected', 'failed')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  REAL    NOT NULL,
        last_error       TEXT    NOT NULL DEFAULT '',
        checkpoint       TEXT    NOT NULL DEFAULT '{}',
        complaint_number TEXT,
        receipt          TEXT,
        status_code      TEXT,
        status_text      TEXT    NOT NULL DEFAULT '',
        message_id       INTEGER,
        told_delayed     INTEGER NOT NULL DEFAULT 0,
        created_at       REAL    NOT NULL,
        updated_at       REAL    NOT NULL
    );
    CREATE INDEX complaints_due ON complaints (state, next_attempt_at);
    CREATE INDEX complaints_by_customer ON complaints (user_id, created_at);
    CREATE INDEX complaints_by_number ON complaints (complaint_number);

    CREATE TABLE desk_complaints (
        number           INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key  TEXT    NOT NULL UNIQUE,
        customer_uid     TEXT    NOT NULL,
        customer_name    TEXT    NOT NULL,
        order_id         TEXT    NOT NULL,
        category         TEXT    NOT NULL,
        problem          TEXT    NOT NULL,
        language         TEXT    NOT NULL,
        status           TEXT    NOT NULL DEFAULT 'received',
        note             TEXT    NOT NULL DEFAULT '',
        created_at       REAL    NOT NULL,
        updated_at       REAL    NOT NULL
    );
    -- Desk numbers start at 100001: six digits, and AUTOINCREMENT never reuses one.
    INSERT INTO sqlite_sequence (name, seq) VALUES ('desk_complaints', 100000)
    """,
    # 2: customers' choices, and what the status poller last told each customer.
    """
    CREATE TABLE customers (
        user_id        INTEGER PRIMARY KEY,
        language       TEXT,
        notifications  INTEGER NOT NULL DEFAULT 1,
        updated_at     REAL    NOT NULL
    );
    ALTER TABLE complaints ADD COLUMN status_detail TEXT NOT NULL DEFAULT '';
    ALTER TABLE complaints ADD COLUMN status_checked_at REAL NOT NULL DEFAULT 0;
    CREATE INDEX complaints_to_poll ON complaints (state, status_checked_at)
    """,
    # 3: claims (leases) in the database, quarantined rows, status versions; the messages owed
    # to customers and operators (deliveries); named leases for background rounds; the updates
    # already processed.
    """
    ALTER TABLE complaints ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE complaints ADD COLUMN claimed_until REAL NOT NULL DEFAULT 0;
    ALTER TABLE complaints ADD COLUMN quarantined TEXT NOT NULL DEFAULT '';
    ALTER TABLE complaints ADD COLUMN status_version INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX complaints_claimable ON complaints (state, backend, next_attempt_at);

    CREATE TABLE deliveries (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id          INTEGER NOT NULL,
        chat_id          INTEGER NOT NULL,
        complaint_id     INTEGER,
        kind             TEXT    NOT NULL,
        message          TEXT    NOT NULL,
        state            TEXT    NOT NULL
                         CHECK (state IN ('pending', 'sent', 'blocked', 'given_up', 'dropped')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  REAL    NOT NULL,
        claimed_by       TEXT    NOT NULL DEFAULT '',
        claimed_until    REAL    NOT NULL DEFAULT 0,
        last_error       TEXT    NOT NULL DEFAULT '',
        sent_message_id  INTEGER,
        created_at       REAL    NOT NULL,
        updated_at       REAL    NOT NULL
    );
    CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
    CREATE INDEX deliveries_by_chat ON deliveries (chat_id, state, id);

    CREATE TABLE leases (
        name    TEXT PRIMARY KEY,
        holder  TEXT NOT NULL,
        until   REAL NOT NULL
    );

    CREATE TABLE processed_updates (
        update_id     INTEGER PRIMARY KEY,
        processed_at  REAL    NOT NULL
    );
    CREATE INDEX processed_updates_by_age ON processed_updates (processed_at)
    """,
    # 4: what the desk keeps of a complaint's evidence: the solution wanted, the contact
    # given and the files (JSON: kind, file_id, name, type, size).
    """
    ALTER TABLE desk_complaints ADD COLUMN resolution TEXT NOT NULL DEFAULT '';
    ALTER TABLE desk_complaints ADD COLUMN contact TEXT NOT NULL DEFAULT '';
    ALTER TABLE desk_complaints ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]'
    """,
    # 5: the thread of a complaint (messages between its customer and the operators), the
    # forum topic that holds it in the operator chat, and what a customer's next message is
    # about (after [Write about this complaint]); a bot message is found by its id.
    """
    CREATE TABLE complaint_messages (
        id                 INTEGER PRIMARY KEY AUTOINCREMENT,
        complaint_id       INTEGER NOT NULL,
        author             TEXT    NOT NULL CHECK (author IN ('customer', 'operator')),
        author_name        TEXT    NOT NULL,
        text               TEXT    NOT NULL,
        attachments        TEXT    NOT NULL DEFAULT '[]',
        source_chat_id     INTEGER NOT NULL,
        source_message_id  INTEGER NOT NULL,
        created_at         REAL    NOT NULL,
        UNIQUE (source_chat_id, source_message_id)
    );
    CREATE INDEX complaint_messages_by_complaint ON complaint_messages (complaint_id, id);

    CREATE TABLE complaint_topics (
        complaint_id  INTEGER PRIMARY KEY,
        chat_id       INTEGER NOT NULL,
        thread_id     INTEGER NOT NULL,
        created_at    REAL    NOT NULL
    );

    CREATE TABLE follow_ups (
        user_id       INTEGER PRIMARY KEY,
        complaint_id  INTEGER NOT NULL,
        album         TEXT    NOT NULL DEFAULT '',
        until         REAL    NOT NULL
    );

    CREATE INDEX deliveries_by_message ON deliveries (chat_id, sent_message_id)
    """,
    # 6: customers' ratings of finished complaints (one per complaint, changeable for a day);
    # `comment_until` > now while the customer's next text is taken as the rating's comment.
    """
    CREATE TABLE complaint_ratings (
        complaint_id   INTEGER PRIMARY KEY REFERENCES complaints (id),
        user_id        INTEGER NOT NULL,
        stars          INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
        comment        TEXT    NOT NULL DEFAULT '',
        rated_at       REAL    NOT NULL,
        changed_at     REAL    NOT NULL,
        comment_until  REAL    NOT NULL DEFAULT 0
    );
    CREATE INDEX complaint_ratings_by_time ON complaint_ratings (rated_at);
    CREATE INDEX complaint_ratings_awaiting ON complaint_ratings (user_id, comment_until)
    """,
    # 7: the customers' data rights: erasures still waiting for a complaint to be registered,
    # finished or told (the request is kept until then), and when a complaint's personal data
    # was replaced by a pseudonym (so the retention round and a repeated erasure skip it).
    """
    CREATE TABLE erasures (
        user_id       INTEGER PRIMARY KEY,
        requested_at  REAL    NOT NULL
    );
    ALTER TABLE complaints ADD COLUMN anonymised_at REAL NOT NULL DEFAULT 0;
    CREATE INDEX complaints_to_anonymise ON complaints (anonymised_at, updated_at)
    """,
    # 8: an erasure is a snapshot (it covers what existed at `requested_at`); `in_memory`
    # marks one asked outside the bot (the CLI), whose processes still hold the customer in
    # memory; the files of erased complaints, so their media links are refused.
    """
    ALTER TABLE erasures ADD COLUMN in_memory INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE erased_files (
        unique_id  TEXT PRIMARY KEY,
        erased_at  REAL NOT NULL
    )
    """,
    # 9: complaints set aside because a create may or may not have filed them (a backend
    # without idempotency gave no answer): why, until an operator adopts or resubmits them.
    """
    ALTER TABLE complaints ADD COLUMN unknown_outcome TEXT NOT NULL DEFAULT ''
    """,
    # 10: what is claimed, as the desk keeps it (items as JSON, the amount as "1500.50 CZK",
    # the refund account's IBAN); customers' withdrawals, each told to the backend once (an
    # outbox of its own: claimed, retried, recorded).
    """
    ALTER TABLE desk_complaints ADD COLUMN items TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE desk_complaints ADD COLUMN claimed_amount TEXT NOT NULL DEFAULT '';
    ALTER TABLE desk_complaints ADD COLUMN refund_account TEXT NOT NULL DEFAULT '';
    CREATE TABLE withdrawals (
        complaint_id     INTEGER PRIMARY KEY,
        backend          TEXT    NOT NULL,
        state            TEXT    NOT NULL
                         CHECK (state IN ('pending', 'done', 'handed_over', 'failed')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  REAL    NOT NULL,
        claimed_by       TEXT    NOT NULL DEFAULT '',
        claimed_until    REAL    NOT NULL DEFAULT 0,
        last_error       TEXT    NOT NULL DEFAULT '',
        requested_at     REAL    NOT NULL,
        updated_at       REAL    NOT NULL
    );
    CREATE INDEX withdrawals_due ON withdrawals (state, next_attempt_at)
    """,
    # 11: what a shop's link carries beyond the order (its items, its hash), under the short
    # token the signed /start payload names (64 characters hold no list of items).
    """
    CREATE TABLE link_orders (
        token       TEXT PRIMARY KEY,
        order_id    TEXT NOT NULL,
        order_hash  TEXT NOT NULL DEFAULT '',
        items       TEXT NOT NULL DEFAULT '[]',
        created_at  REAL NOT NULL
    )
    """,
]

# The same versions for PostgreSQL: BIGINT ids (Telegram's are 64-bit), DOUBLE PRECISION
# times, identity columns (the desk's numbers start at 100001 and are never reused).
POSTGRES_MIGRATIONS: list[str] = [
    # 1: conversations, the ledger (outbox) and the embedded complaint desk.
    """
    CREATE TABLE conversations (
        user_id     BIGINT PRIMARY KEY,
        chat_id     BIGINT NOT NULL,
        state       TEXT   NOT NULL,
        draft       TEXT   NOT NULL,
        updated_at  DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX conversations_by_age ON conversations (updated_at);

    CREATE TABLE complaints (
        id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        idempotency_key  TEXT    NOT NULL UNIQUE,
        user_id          BIGINT  NOT NULL,
        chat_id          BIGINT  NOT NULL,
        backend          TEXT    NOT NULL,
        envelope         TEXT    NOT NULL,
        order_id         TEXT    NOT NULL,
        category         TEXT    NOT NULL,
        language         TEXT    NOT NULL,
        from_deep_link   INTEGER NOT NULL DEFAULT 0,
        state            TEXT    NOT NULL
                         CHECK (state IN ('pending', 'registered', 'rejected', 'failed')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  DOUBLE PRECISION NOT NULL,
        last_error       TEXT    NOT NULL DEFAULT '',
        checkpoint       TEXT    NOT NULL DEFAULT '{}',
        complaint_number TEXT,
        receipt          TEXT,
        status_code      TEXT,
        status_text      TEXT    NOT NULL DEFAULT '',
        message_id       BIGINT,
        told_delayed     INTEGER NOT NULL DEFAULT 0,
        created_at       DOUBLE PRECISION NOT NULL,
        updated_at       DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX complaints_due ON complaints (state, next_attempt_at);
    CREATE INDEX complaints_by_customer ON complaints (user_id, created_at);
    CREATE INDEX complaints_by_number ON complaints (complaint_number);

    CREATE TABLE desk_complaints (
        number           BIGINT GENERATED BY DEFAULT AS IDENTITY (START WITH 100001) PRIMARY KEY,
        idempotency_key  TEXT    NOT NULL UNIQUE,
        customer_uid     TEXT    NOT NULL,
        customer_name    TEXT    NOT NULL,
        order_id         TEXT    NOT NULL,
        category         TEXT    NOT NULL,
        problem          TEXT    NOT NULL,
        language         TEXT    NOT NULL,
        status           TEXT    NOT NULL DEFAULT 'received',
        note             TEXT    NOT NULL DEFAULT '',
        created_at       DOUBLE PRECISION NOT NULL,
        updated_at       DOUBLE PRECISION NOT NULL
    );
    """,
    # 2: customers' choices, and what the status poller last told each customer.
    """
    CREATE TABLE customers (
        user_id        BIGINT PRIMARY KEY,
        language       TEXT,
        notifications  INTEGER NOT NULL DEFAULT 1,
        updated_at     DOUBLE PRECISION NOT NULL
    );
    ALTER TABLE complaints ADD COLUMN status_detail TEXT NOT NULL DEFAULT '';
    ALTER TABLE complaints ADD COLUMN status_checked_at DOUBLE PRECISION NOT NULL DEFAULT 0;
    CREATE INDEX complaints_to_poll ON complaints (state, status_checked_at);
    """,
    # 3: claims, quarantine, status versions; deliveries; leases; processed updates.
    """
    ALTER TABLE complaints ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE complaints ADD COLUMN claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0;
    ALTER TABLE complaints ADD COLUMN quarantined TEXT NOT NULL DEFAULT '';
    ALTER TABLE complaints ADD COLUMN status_version INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX complaints_claimable ON complaints (state, backend, next_attempt_at);

    CREATE TABLE deliveries (
        id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        user_id          BIGINT  NOT NULL,
        chat_id          BIGINT  NOT NULL,
        complaint_id     BIGINT,
        kind             TEXT    NOT NULL,
        message          TEXT    NOT NULL,
        state            TEXT    NOT NULL
                         CHECK (state IN ('pending', 'sent', 'blocked', 'given_up', 'dropped')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  DOUBLE PRECISION NOT NULL,
        claimed_by       TEXT    NOT NULL DEFAULT '',
        claimed_until    DOUBLE PRECISION NOT NULL DEFAULT 0,
        last_error       TEXT    NOT NULL DEFAULT '',
        sent_message_id  BIGINT,
        created_at       DOUBLE PRECISION NOT NULL,
        updated_at       DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
    CREATE INDEX deliveries_by_chat ON deliveries (chat_id, state, id);

    CREATE TABLE leases (
        name    TEXT PRIMARY KEY,
        holder  TEXT NOT NULL,
        until   DOUBLE PRECISION NOT NULL
    );

    CREATE TABLE processed_updates (
        update_id     BIGINT PRIMARY KEY,
        processed_at  DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX processed_updates_by_age ON processed_updates (processed_at);
    """,
    # 4: what the desk keeps of a complaint's evidence: the solution wanted, the contact
    # given and the files (JSON: kind, file_id, name, type, size).
    """
    ALTER TABLE desk_complaints ADD COLUMN resolution TEXT NOT NULL DEFAULT '';
    ALTER TABLE desk_complaints ADD COLUMN contact TEXT NOT NULL DEFAULT '';
    ALTER TABLE desk_complaints ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]'
    """,
    # 5: the thread of a complaint (messages between its customer and the operators), the
    # forum topic that holds it in the operator chat, and what a customer's next message is
    # about (after [Write about this complaint]); a bot message is found by its id.
    """
    CREATE TABLE complaint_messages (
        id                 BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        complaint_id       BIGINT  NOT NULL,
        author             TEXT    NOT NULL CHECK (author IN ('customer', 'operator')),
        author_name        TEXT    NOT NULL,
        text               TEXT    NOT NULL,
        attachments        TEXT    NOT NULL DEFAULT '[]',
        source_chat_id     BIGINT  NOT NULL,
        source_message_id  BIGINT  NOT NULL,
        created_at         DOUBLE PRECISION NOT NULL,
        UNIQUE (source_chat_id, source_message_id)
    );
    CREATE INDEX complaint_messages_by_complaint ON complaint_messages (complaint_id, id);

    CREATE TABLE complaint_topics (
        complaint_id  BIGINT PRIMARY KEY,
        chat_id       BIGINT  NOT NULL,
        thread_id     BIGINT  NOT NULL,
        created_at    DOUBLE PRECISION NOT NULL
    );

    CREATE TABLE follow_ups (
        user_id       BIGINT PRIMARY KEY,
        complaint_id  BIGINT  NOT NULL,
        album         TEXT    NOT NULL DEFAULT '',
        until         DOUBLE PRECISION NOT NULL
    );

    CREATE INDEX deliveries_by_message ON deliveries (chat_id, sent_message_id)
    """,
    # 6: customers' ratings of finished complaints (one per complaint, changeable for a day);
    # `comment_until` > now while the customer's next text is taken as the rating's comment.
    """
    CREATE TABLE complaint_ratings (
        complaint_id   BIGINT  PRIMARY KEY REFERENCES complaints (id),
        user_id        BIGINT  NOT NULL,
        stars          INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
        comment        TEXT    NOT NULL DEFAULT '',
        rated_at       DOUBLE PRECISION NOT NULL,
        changed_at     DOUBLE PRECISION NOT NULL,
        comment_until  DOUBLE PRECISION NOT NULL DEFAULT 0
    );
    CREATE INDEX complaint_ratings_by_time ON complaint_ratings (rated_at);
    CREATE INDEX complaint_ratings_awaiting ON complaint_ratings (user_id, comment_until)
    """,
    # 7: the customers' data rights: erasures still waiting for a complaint to be registered,
    # finished or told (the request is kept until then), and when a complaint's personal data
    # was replaced by a pseudonym (so the retention round and a repeated erasure skip it).
    """
    CREATE TABLE erasures (
        user_id       BIGINT PRIMARY KEY,
        requested_at  DOUBLE PRECISION NOT NULL
    );
    ALTER TABLE complaints ADD COLUMN anonymised_at DOUBLE PRECISION NOT NULL DEFAULT 0;
    CREATE INDEX complaints_to_anonymise ON complaints (anonymised_at, updated_at)
    """,
    # 8: erasures as snapshots, and the files of erased complaints (as for SQLite).
    """
    ALTER TABLE erasures ADD COLUMN in_memory INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE erased_files (
        unique_id  TEXT PRIMARY KEY,
        erased_at  DOUBLE PRECISION NOT NULL
    )
    """,
    # 9: complaints whose create's outcome is unknown (as for SQLite).
    """
    ALTER TABLE complaints ADD COLUMN unknown_outcome TEXT NOT NULL DEFAULT ''
    """,
    # 10: what is claimed, on the desk; customers' withdrawals (as for SQLite).
    """
    ALTER TABLE desk_complaints ADD COLUMN items TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE desk_complaints ADD COLUMN claimed_amount TEXT NOT NULL DEFAULT '';
    ALTER TABLE desk_complaints ADD COLUMN refund_account TEXT NOT NULL DEFAULT '';
    CREATE TABLE withdrawals (
        complaint_id     BIGINT  PRIMARY KEY,
        backend          TEXT    NOT NULL,
        state            TEXT    NOT NULL
                         CHECK (state IN ('pending', 'done', 'handed_over', 'failed')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  DOUBLE PRECISION NOT NULL,
        claimed_by       TEXT    NOT NULL DEFAULT '',
        claimed_until    DOUBLE PRECISION NOT NULL DEFAULT 0,
        last_error       TEXT    NOT NULL DEFAULT '',
        requested_at     DOUBLE PRECISION NOT NULL,
        updated_at       DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX withdrawals_due ON withdrawals (state, next_attempt_at)
    """,
    # 11: what a shop's link carries beyond the order (as for SQLite).
    """
    CREATE TABLE link_orders (
        token       TEXT PRIMARY KEY,
        order_id    TEXT NOT NULL,
        order_hash  TEXT NOT NULL DEFAULT '',
        items       TEXT NOT NULL DEFAULT '[]',
        created_at  DOUBLE PRECISION NOT NULL
    )
    """,
]
