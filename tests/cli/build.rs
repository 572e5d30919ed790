//! `hotfix build` end to end.
