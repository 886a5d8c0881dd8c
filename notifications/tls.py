"""TLS for the mailbox and the relay: certificates verified (host name included) against the system's CAs or
a private CA's (``ca_file``), and errors worded so an operator knows what to change."""

from __future__ import annotations

import functools
import ssl


@functools.cache
def client_context(ca_file: str) -> ssl.SSLContext:
    """One verifying context per CA file, built once (loading the system's CAs costs ~25 ms) and shared by
    every connection: a context holds no per-connection state."""
    return ssl.create_default_context(cafile=ca_file or None)


def describe(error: BaseException, section: str) -> str:
    """An error as an operator reads it, with what to do for the usual TLS mistakes (``section``: the
    settings section, "mailbox" or "smtp")."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = (error.verify_message or str(error)).lower()
        if "hostname" in reason or "match" in reason:
            return f"{text} (the certificate is not for this host name: check {section}.host)"
        return f"{text} (the certificate is not trusted: for a private CA set {section}.ca_file)"
    return text
