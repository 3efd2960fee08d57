"""cffi builder for ``tls._openssl`` (out-of-line API mode).

The C text lives in ``tls/c/``, one module per OpenSSL area; this script only
assembles it.  It is loaded by setuptools through ``cffi_modules`` and can be
run directly (``python build_ffi.py``) for an in-place build.
"""

import os
import sys

from cffi import FFI

# Import the declaration layer from this source tree without importing the
# ``tls`` package itself (which needs the compiled module).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls"))
import c as declarations  # noqa: E402

sys.path.pop(0)

ffibuilder = FFI()
ffibuilder.cdef(declarations.cdef())
ffibuilder.set_source(
    "tls._openssl",
    declarations.source()
    + '\nstatic const char *tls_binding_fingerprint(void) { return "%s"; }\n'
    % declarations.fingerprint(),
    libraries=["ssl", "crypto"],
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=os.path.dirname(os.path.abspath(__file__)), verbose=True)
