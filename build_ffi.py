"""cffi builder for ``tls._openssl`` (out-of-line API mode).

The C text lives in ``tls/c/``, one module per OpenSSL area; this script only
assembles it.  It is loaded by setuptools through ``cffi_modules`` and can be
run directly (``python build_ffi.py``) for an in-place build.
"""

import importlib.util
import os
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_declarations():
    """Load ``tls/c`` from this source tree without importing ``tls`` (which needs
    the compiled module this script makes)."""
    package_dir = os.path.join(HERE, "tls", "c")
    spec = importlib.util.spec_from_file_location(
        "_tls_declarations",
        os.path.join(package_dir, "__init__.py"),
        submodule_search_locations=[package_dir],
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


declarations = _load_declarations()

FINGERPRINT_FUNCTION = """
static const char *tls_binding_fingerprint(void) { return "FINGERPRINT"; }
"""

ffibuilder = FFI()
ffibuilder.cdef(declarations.cdef())
ffibuilder.set_source(
    "tls._openssl",
    declarations.source() + FINGERPRINT_FUNCTION.replace("FINGERPRINT", declarations.fingerprint()),
    libraries=["ssl", "crypto"],
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=HERE, verbose=True)
