//! `hotfix extract` end to end.
