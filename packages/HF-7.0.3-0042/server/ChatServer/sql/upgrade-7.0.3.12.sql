-- ChatServer 7.0.3.12: journal of chat messages not yet acknowledged by the customer.
-- Applied by the ChatServer on start; safe to run twice.
CREATE TABLE IF NOT EXISTS chat_message_journal (
    session_id      VARCHAR(64)  NOT NULL,
    message_seq     BIGINT       NOT NULL,
    sender          VARCHAR(16)  NOT NULL,
    body            TEXT         NOT NULL,
    sent_at         TIMESTAMP    NOT NULL,
    acknowledged_at TIMESTAMP    NULL,
    PRIMARY KEY (session_id, message_seq)
);

CREATE INDEX IF NOT EXISTS chat_message_journal_unacked
    ON chat_message_journal (acknowledged_at, sent_at);
