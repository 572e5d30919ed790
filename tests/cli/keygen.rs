//! `hotfix keygen` end to end.
