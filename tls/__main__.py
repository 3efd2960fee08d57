"""``python -m tls info`` | ``python -m tls bench [...]``."""

import platform
import sys


def info():
    from tls import __version__, _binding

    lib = _binding.lib
    print(f"tls {__version__}")
    print(f"interpreter: {platform.python_implementation()} {platform.python_version()} ({sys.executable})")
    print(f"OpenSSL built against: {_binding.openssl_version_built()}")
    print(f"OpenSSL loaded:        {_binding.openssl_version_loaded()}")
    for title, kind in (
        ("digests", lib.TLS_LIST_DIGESTS),
        ("ciphers", lib.TLS_LIST_CIPHERS),
        ("MACs", lib.TLS_LIST_MACS),
        ("KDFs", lib.TLS_LIST_KDFS),
    ):
        names = [n for n in _binding.list_names(kind) if not n[0].isdigit()]  # drop bare OIDs
        print(f"{title} ({len(names)}): {', '.join(names)}")
    return 0


USAGE = """usage: python -m tls info
       python -m tls bench [GROUP ...] [options]   (python -m tls bench --help)"""


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "info":
        return info()
    if command == "bench":
        from tls.bench import main as bench_main

        return bench_main(rest)
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
