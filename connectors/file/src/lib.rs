//! Placeholder until implemented.
