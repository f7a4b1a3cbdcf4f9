//! pulsedb
