"""``python -m tls info`` | ``python -m tls bench [...]`` | ``python -m tls run ...``."""

import os
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


RUN_USAGE = """usage: python -m tls run script.py [args ...]
       python -m tls run -m module [args ...]

Run a Python program with tls.ssl injected as the stdlib ssl module's implementation
(tls.inject_into_ssl()) before its first line; sys.argv, __main__, sys.path[0] and the
exit status are as with `python script.py` / `python -m module`."""


def _drop_own_frames(tb):
    """The traceback from the program's first frame on (ours and runpy's left out)."""
    import runpy

    ours = (globals(), vars(runpy))
    start = tb
    while start is not None and any(start.tb_frame.f_globals is g for g in ours):
        start = start.tb_next
    return start or tb


def _fresh_main():
    """A new, empty ``__main__`` module in sys.modules (this one is ``tls.__main__``'s)."""
    import builtins
    import types

    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    return main


def _run_script(path):
    # As CPython's pymain_run_file: __file__ absolute, sys.argv[0] as given, the script's
    # (symlink-resolved) directory first on sys.path; a directory or zip file runs its
    # __main__.py as `python dir` does.
    is_file = os.path.isfile(path)
    entry = os.path.dirname(os.path.realpath(path)) if is_file else path
    if not getattr(sys.flags, "safe_path", False):
        sys.path[0] = entry  # in place of the working directory `python -m tls` put there
    elif not is_file:
        sys.path.insert(0, entry)
    if not is_file:
        import runpy

        _fresh_main()
        runpy._run_module_as_main("__main__", alter_argv=False)
        return
    import io
    from importlib.machinery import SourceFileLoader

    filename = os.path.abspath(path)
    with io.open_code(filename) as source_file:
        source = source_file.read()
    code = compile(source, filename, "exec", dont_inherit=True)
    main = _fresh_main()
    main.__file__ = filename
    main.__cached__ = None
    main.__loader__ = SourceFileLoader("__main__", filename)
    exec(code, vars(main))


def _run_module(name):
    # runpy._run_module_as_main is what `python -m` itself calls: it finds the module (a
    # package runs its __main__), sets sys.argv[0] to its file and executes it in the
    # __main__ module's namespace, which must be a fresh one here.
    import runpy

    _fresh_main()
    runpy._run_module_as_main(name, alter_argv=True)


def run(argv):
    """``python -m tls run``: the program runs with tls injected from its first line."""
    if not argv or argv[0] in ("-h", "--help"):
        print(RUN_USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0].startswith("-m"):
        name = argv[0][2:] or (argv[1] if len(argv) > 1 else "")
        if not name:
            print("python -m tls run: argument expected for the -m option", file=sys.stderr)
            return 2
        args = argv[1:] if argv[0] != "-m" else argv[2:]
        sys.argv = ["-m", *args]
        runner, target = _run_module, name
    elif argv[0].startswith("-"):
        print(f"python -m tls run: unknown option {argv[0]}\n{RUN_USAGE}", file=sys.stderr)
        return 2
    else:
        path = argv[0]
        if not os.path.exists(path):
            print(
                f"{sys.executable}: can't open file {os.path.abspath(path)!r}: "
                "[Errno 2] No such file or directory",
                file=sys.stderr,
            )
            return 2
        sys.argv = list(argv)
        runner, target = _run_script, path

    from tls import inject_into_ssl

    inject_into_ssl()
    try:
        runner(target)
    except (SystemExit, KeyboardInterrupt):
        raise  # the interpreter's own handling: exit status, message, SIGINT
    except BaseException as exc:
        # shown as `python script.py` shows it: from the program's frame on, status 1
        # (CPython's excepthook prints exc.__traceback__ whatever tb it is given)
        tb = _drop_own_frames(exc.__traceback__)
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        return 1
    return 0


USAGE = """usage: python -m tls info
       python -m tls bench [GROUP ...] [options]   (python -m tls bench --help)
       python -m tls run script.py [args ...] | python -m tls run -m module [args ...]"""


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
    if command == "run":
        return run(rest)
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
