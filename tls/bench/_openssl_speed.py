"""OpenSSL's own C figure: ``openssl speed``, run once per (selection, size) and cached.

The selection comes from the case: ``("-evp", "sha256")``, ``("-hmac", "sha256")``,
``("-aead", "-evp", "aes-128-gcm")`` (``-aead`` times the TLS-like per-message
sequence: set the IV, 13 bytes of AAD, update, final; without it ``openssl speed``
only streams ``EVP_CipherUpdate`` over one context), plus ``"-decrypt"``.
``-elapsed`` divides by wall-clock time like the Python measurements do.
"""

from __future__ import annotations

import shutil
import subprocess

SPEED_SECONDS = 1  # openssl speed takes whole seconds only


def parse_mr(text, size):
    """Parse ``openssl speed -mr`` output for one size into ``(ops_per_s, mb_per_s)``.

    The ``+F:<index>:<name>:<bytes per second>`` line carries the figure; the
    ``+R:<count>:<name>:<seconds>`` line is used if it is missing.
    """
    for line in text.splitlines():
        if line.startswith("+F:"):
            fields = line.split(":")
            bytes_per_s = float(fields[-1])
            return bytes_per_s / size, bytes_per_s / 1e6
    for line in text.splitlines():
        if line.startswith("+R:"):
            fields = line.split(":")
            count, secs = float(fields[1]), float(fields[-1])
            if secs > 0:
                return count / secs, count * size / secs / 1e6
    raise ValueError("no +F or +R line in openssl speed output")


class OpenSSLSpeed:
    """Runs and caches ``openssl speed``; ``enabled=False`` (``--no-openssl``) disables it."""

    def __init__(self, enabled=True, binary=None):
        self.binary = binary or shutil.which("openssl")
        self.enabled = enabled
        self.cache = {}
        self._version = None

    def version(self):
        if self._version is None and self.binary:
            try:
                out = subprocess.run([self.binary, "version"], capture_output=True, text=True, timeout=10)
                self._version = out.stdout.strip() or None
            except (OSError, subprocess.SubprocessError):
                self._version = None
        return self._version

    def command(self, selection, size):
        return [self.binary or "openssl", "speed", "-mr", "-elapsed", "-seconds", str(SPEED_SECONDS),
                "-bytes", str(size), *selection]

    def figure(self, selection, size):
        """Return a result dict like an implementation's (status ok/unavailable/error)."""
        if selection is None:
            return {"status": "n/a"}
        if not self.enabled:
            return {"status": "unavailable", "reason": "disabled (--no-openssl)"}
        if not self.binary:
            return {"status": "unavailable", "reason": "no openssl binary on PATH"}
        key = (tuple(selection), size)
        if key not in self.cache:
            self.cache[key] = self._run(selection, size)
        return self.cache[key]

    def _run(self, selection, size):
        cmd = self.command(selection, size)
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30 + 4 * SPEED_SECONDS)
        except (OSError, subprocess.SubprocessError) as exc:
            return {"status": "error", "reason": f"{type(exc).__name__}: {exc}", "command": " ".join(cmd)}
        try:
            ops, mbs = parse_mr(out.stdout, size)
        except (ValueError, IndexError):
            tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or [f"exit status {out.returncode}"]
            return {"status": "error", "reason": f"openssl speed failed: {tail[0]}", "command": " ".join(cmd)}
        return {"status": "ok", "ops_per_s": ops, "mb_per_s": mbs, "command": " ".join(cmd[1:])}
