//! CLI integration tests: one binary, one module per subcommand family.
//! Shared helpers live in `support`.

mod build;
mod cluster;
mod compare;
mod concurrency;
mod crash;
mod extract;
mod help;
mod keygen;
mod odd_files;
mod pkcs11;
mod readme;
mod schema;
mod sim;
mod snapshots;
mod support;
mod terminal;
mod trust;
mod upgrade;
mod verify;
