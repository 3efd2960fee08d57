from setuptools import setup
from setuptools.command.build_ext import build_ext

MISSING_TOOLS = """
tls could not compile its OpenSSL binding (tls._openssl).
It needs a C compiler, the Python headers and the OpenSSL 3 headers:
  Debian/Ubuntu: apt-get install gcc libssl-dev python3-dev   (PyPy: pypy3-dev)
  Fedora/RHEL:   dnf install gcc openssl-devel python3-devel
  Alpine:        apk add gcc musl-dev openssl-dev python3-dev
The compiler said: {error}
"""


class build_ext_with_advice(build_ext):
    """Turn a compiler or linker failure into one message saying what to install."""

    def run(self):
        from distutils.errors import CCompilerError, CompileError, DistutilsExecError, LinkError

        try:
            super().run()
        except (CCompilerError, CompileError, DistutilsExecError, LinkError) as exc:
            raise SystemExit(MISSING_TOOLS.format(error=exc)) from exc


setup(
    cffi_modules=["build_ffi.py:ffibuilder"],
    cmdclass={"build_ext": build_ext_with_advice},
)
