//! `hotfix sim` end to end.
