//! `hotfix verify` end to end.
