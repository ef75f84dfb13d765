-- Idempotency keys of POST requests, per caller, kept 24 hours, shared by every instance.
-- `status` is null while the first request with the key is being served.
CREATE TABLE idempotency_keys (
    caller_sub TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER,
    response_headers TEXT,
    response_body TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (caller_sub, idem_key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
