//! Quiet exits on a closed pipe (`pulsedb export … | head`). Rust ignores
//! SIGPIPE, so a write to a closed stdout fails with EPIPE and `println!`
//! panics. A command-line filter should instead end silently, as `cat` does:
//! the offline subcommands restore the default action, which ends the
//! process on the first write to a closed pipe. `serve` and `bench` keep
//! SIGPIPE ignored: there a peer closing a socket is an error to handle, not
//! a reason to die.

/// Restores SIGPIPE's default action (terminate quietly).
pub(crate) fn restore_default_action() {
    #[expect(unsafe_code, reason = "libc::signal is the only way to reset a signal's action")]
    // SAFETY: called on the main thread before any other thread starts;
    // SIG_DFL installs no handler, so no code of ours runs in signal context.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
