"""A drop-in for :mod:`hashlib` on OpenSSL 3 (CPython 3.11's ``hashlib`` is the spec).

Design (see ``shared/perf-notes.md``):

- every ``EVP_MD`` / ``EVP_MAC`` is fetched once per (name, usedforsecurity)
  and kept in a module-level cache; nothing is fetched implicitly;
- a hash object starts *lazy*: it keeps its data (``bytes`` as given, small
  mutable buffers copied) and ``digest()`` is ONE C call
  (``tls_digest_oneshot_ctx``, in a pooled context).  The object's own
  ``EVP_MD_CTX`` is created only when a second chunk of data or a large
  mutable buffer arrives (``tls_digest_start``: one call); from then on
  ``digest()`` is one call too (``tls_digest_final_copy``); ``copy()`` of a
  lazy object shares its immutable data;
- cffi releases the GIL during every call, so a context is only touched with
  its lock held (the lock is created together with the context; lazy objects
  need none: their data is immutable);
- output goes through a small pool of reusable (buffer, context) entries (a
  list used as a stack: ``pop``/``append`` are atomic, so threads and
  re-entrant callers such as signal handlers never share one).

Deviations from CPython 3.11's hashlib, all deliberate:
- ``shake_*().digest(-1)`` raises ValueError("negative digest length") (3.11
  raises SystemError / MemoryError, an interpreter bug);
- BLAKE2 tree hashing (``fanout``, ``depth``, ... other than the defaults)
  raises ValueError: OpenSSL cannot do it.  So do ``digest_size``/``salt``/
  ``person`` without a key where the running OpenSSL's BLAKE2 digest has no
  such settable parameter (OpenSSL 3.0/3.1 have none; keyed hashing goes
  through BLAKE2BMAC/BLAKE2SMAC, which take all three);
- the named constructors are classes (``sha256`` is a ``HASH`` subclass):
  one Python frame less per object on CPython;
- ``sha512_224`` and ``sha512_256`` constructors exist as well.

``pbkdf2_hmac`` and ``scrypt`` live in :mod:`tls.kdf` and are re-exported here.
"""

from __future__ import annotations

import _thread
from operator import index as _index

from tls import _digests
from tls._binding import clear_errors, ffi, lib, openssl_assert, raise_error
from tls._binding import list_names as _binding_list_names
from tls.kdf import pbkdf2_hmac, scrypt  # hashlib has them too

__all__ = (
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "blake2b",
    "blake2s",
    "sha3_224",
    "sha3_256",
    "sha3_384",
    "sha3_512",
    "shake_128",
    "shake_256",
    "new",
    "algorithms_guaranteed",
    "algorithms_available",
    "file_digest",
    "pbkdf2_hmac",
    "scrypt",
)

algorithms_guaranteed = {  # a plain set, like hashlib's
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "blake2b",
    "blake2s",
    "sha3_224",
    "sha3_256",
    "sha3_384",
    "sha3_512",
    "shake_128",
    "shake_256",
}

_NULL = ffi.NULL
_MAX_MD_SIZE = lib.EVP_MAX_MD_SIZE
# A lazy object keeps up to this many bytes of data (mutable buffers copied,
# small updates joined) and hashes them in one call; past it, a context takes
# over (no copy, and nothing of the caller's is kept).
_COPY_LIMIT = 4096

def _py_name(md):
    return _digests.python_name(ffi.string(lib.EVP_MD_get0_name(md)).decode("ascii", "replace"))


# --------------------------------------------------------------------------
# Scratch for one-shot digests: a stack of (output cdata, its ffi.buffer, a
# reusable EVP_MD_CTX).  list.pop/append are atomic, so an entry is owned by
# exactly one caller between pop and append (threads, and re-entrant callers
# such as signal handlers, never share one).  Entries live as long as the
# pool; their contexts are freed by the GC.

_SCRATCH = []
_take = _SCRATCH.pop
_give_back = _SCRATCH.append


def _scratch():
    out = ffi.new("unsigned char[]", _MAX_MD_SIZE)
    ctx = lib.EVP_MD_CTX_new()
    openssl_assert(ctx != _NULL, "EVP_MD_CTX_new")
    return out, ffi.buffer(out), ffi.gc(ctx, lib.EVP_MD_CTX_free)


# The hot calls, looked up once (a lib attribute costs a dict lookup per use).
_oneshot = lib.tls_digest_oneshot
_oneshot_ctx = lib.tls_digest_oneshot_ctx
_final_copy = lib.tls_digest_final_copy
_digest_update = lib.EVP_DigestUpdate


# --------------------------------------------------------------------------
# Algorithms: fetched once, cached per (name, usedforsecurity).


class _Algorithm:
    """One fetched digest and what a hash object needs to know about it."""

    __slots__ = ("md", "name", "digest_size", "block_size", "xof")

    def __init__(self, md, name, digest_size, block_size, xof):
        self.md = md
        self.name = name
        self.digest_size = digest_size
        self.block_size = block_size
        self.xof = xof


_FETCHED = ({}, {})  # [usedforsecurity] -> {requested name: _Algorithm}
_FETCH_LOCK = _thread.allocate_lock()


def _algorithm(name, usedforsecurity=True):
    """The cached ``_Algorithm`` for a hashlib or OpenSSL name, fetching it once."""
    cache = _FETCHED[1 if usedforsecurity else 0]
    try:
        alg = cache.get(name)
    except TypeError:  # unhashable
        alg = None
    if alg is not None:
        return alg
    if not isinstance(name, str) or "\0" in name:
        raise TypeError("name must be a string")
    ossl = _digests.known_fetch_name(name)
    # OpenSSL's own names are case-insensitive: cache them under their upper
    # case only (a key of their own, never one of hashlib's names), so the
    # cache stays bounded whatever spellings callers use.
    key = name if ossl is not None else ("openssl", name.upper())
    alg = cache.get(key)
    if alg is None:
        md = lib.EVP_MD_fetch(_NULL, (ossl or name).encode(), _NULL if usedforsecurity else b"-fips")
        if md == _NULL:
            clear_errors()
            raise ValueError("unsupported hash type " + name)
        alg = _Algorithm(
            md,
            _py_name(md),
            lib.EVP_MD_get_size(md),
            lib.EVP_MD_get_block_size(md),
            bool(lib.EVP_MD_get_flags(md) & lib.EVP_MD_FLAG_XOF),
        )
        with _FETCH_LOCK:
            kept = cache.setdefault(key, alg)
        if kept is not alg:  # another thread fetched it first
            lib.EVP_MD_free(md)
            alg = kept
    if key == name:
        cache[name] = alg
    return alg


# --------------------------------------------------------------------------
# Buffers in, with hashlib's errors.


def _as_cdata(data):
    """A zero-copy ``char[]`` over any C-contiguous buffer, or hashlib's TypeError."""
    if isinstance(data, str):
        raise TypeError("Strings must be encoded before hashing")
    if type(data) is memoryview and not data.c_contiguous:
        # PyPy's from_buffer would silently copy; CPython refuses.  Refuse on both.
        raise BufferError("memoryview: underlying buffer is not C-contiguous")
    try:
        return ffi.from_buffer(data)
    except TypeError:
        pass
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError("object supporting the buffer API required") from None
    # A buffer PyPy cannot give a raw address for (io.BytesIO.getbuffer()): copy it.
    with view:
        return ffi.from_buffer(view.tobytes())


def _keepable(data):
    """``data`` as something a lazy object may keep (bytes), or a cdata to hash now."""
    if type(data) is bytes:
        return data
    buf = _as_cdata(data)
    if len(buf) <= _COPY_LIMIT:
        return ffi.buffer(buf)[:]
    return buf


_TRANSITION = _thread.allocate_lock()  # held only to publish a new context
# The memory-pressure hint given to PyPy's GC for each context (ffi.gc size;
# CPython ignores it).  A context really holds ~300-600 bytes of OpenSSL heap,
# but PyPy 7.3.11 does not collect sooner for hints that small: 200k streaming
# objects per round grew RSS without bound (to 1.9 GB after 2M; PyPy's own
# hashlib does the same).  16 KiB keeps that loop flat at ~250 MB and costs no
# measurable speed; 512 B did nothing, 128 KiB slowed streaming.
_CTX_SIZE = 16384
_start = lib.tls_digest_start
_md_ctx_free = lib.EVP_MD_CTX_free


class HASH:
    """A hash object (``_hashlib.HASH``); create it with :func:`new` or a named constructor.

    State: while *lazy*, ``_lock`` is None and ``_pending`` holds all the data
    so far (immutable bytes).  A context is published by setting ``_ctx``,
    then ``_lock``, then ``_pending = None`` (under ``_TRANSITION``); readers
    read ``_pending`` before ``_lock``, so seeing ``_lock is None`` means the
    ``_pending`` they read is valid.  The context is only touched with its lock
    held: cffi releases the GIL during calls.  (``lock.acquire()``/``release()``
    rather than ``with lock``: half the cost on CPython.)
    """

    __slots__ = ("_alg", "_pending", "_ctx", "_lock")

    def __init__(self, *args, **kwargs):
        cls = type(self)
        raise TypeError(f"cannot create '{cls.__module__}.{cls.__qualname__}' instances")

    # -- attributes ------------------------------------------------------
    @property
    def name(self):
        return self._alg.name

    @property
    def digest_size(self):
        return 0 if self._alg.xof else self._alg.digest_size

    @property
    def block_size(self):
        return self._alg.block_size

    def __repr__(self):
        cls = type(self)
        return f"<{self.name} {cls.__module__}.{cls.__qualname__} object @ {hex(id(self))}>"

    def __reduce_ex__(self, protocol):
        cls = type(self)
        raise TypeError(f"cannot pickle '{cls.__module__}.{cls.__qualname__}' object")

    # -- feeding -----------------------------------------------------------
    def update(self, data):
        """Feed ``data`` (any C-contiguous buffer) to the hash."""
        lock = self._lock
        if lock is None:
            return self._first_update(data)
        if type(data) is not bytes:
            data = _as_cdata(data)
        lock.acquire()
        try:
            ok = _digest_update(self._ctx, data, len(data))
        finally:
            lock.release()
        if not ok:
            raise_error("EVP_DigestUpdate")

    def _first_update(self, data):
        """update() on a lazy object: keep the data, or start the context."""
        if type(data) is not bytes:
            data = _keepable(data)
        while True:
            pending = self._pending
            if self._lock is not None:
                break  # another thread started the context
            if type(data) is bytes and len(pending) + len(data) <= _COPY_LIMIT:
                # Small streaming stays lazy too: a few short updates followed by
                # digest() cost one C call instead of a context and one call each.
                kept_data = pending + data if pending else data
                _TRANSITION.acquire()
                try:
                    kept = self._lock is None and self._pending is pending
                    if kept:
                        self._pending = kept_data
                finally:
                    _TRANSITION.release()
                if kept:
                    return
                continue
            # The context, fed the kept data and this update, built outside the
            # lock (it may hash a lot), then published if nobody else did.
            ctx = _start(self._alg.md, pending, len(pending), data, len(data))
            if ctx == _NULL:
                raise_error("starting the digest context")
            ctx = ffi.gc(ctx, _md_ctx_free, _CTX_SIZE)
            _TRANSITION.acquire()
            try:
                won = self._lock is None and self._pending is pending
                if won:
                    self._ctx = ctx
                    self._lock = _thread.allocate_lock()
                    self._pending = None
            finally:
                _TRANSITION.release()
            if won:
                return
            ffi.release(ctx)  # lost the race: feed the winner's context instead
        lock = self._lock
        lock.acquire()
        try:
            ok = _digest_update(self._ctx, data, len(data))
        finally:
            lock.release()
        if not ok:
            raise_error("EVP_DigestUpdate")

    # -- results -----------------------------------------------------------
    def digest(self):
        """The digest of the data so far (the object stays usable)."""
        pending = self._pending  # before _lock: see the class docstring
        alg = self._alg
        try:
            pair = _take()
        except IndexError:
            pair = _scratch()
        lock = self._lock
        if lock is None:
            ok = _oneshot_ctx(pair[2], alg.md, pending, len(pending), pair[0])
        else:
            lock.acquire()
            try:
                ok = _final_copy(self._ctx, pair[0], alg.digest_size, 0)
            finally:
                lock.release()
        if ok:
            result = pair[1][: alg.digest_size]
            _give_back(pair)
            return result
        raise_error("computing the digest")

    def hexdigest(self):
        return self.digest().hex()

    def copy(self):
        """An independent hash object with the same state."""
        other = _new_object(type(self))
        other._alg = self._alg
        pending = self._pending
        lock = self._lock
        if lock is None:  # lazy: the data is immutable, share it
            other._lock = None
            other._pending = pending
            return other
        ctx = lib.EVP_MD_CTX_new()
        openssl_assert(ctx != _NULL, "EVP_MD_CTX_new")
        ctx = ffi.gc(ctx, _md_ctx_free, _CTX_SIZE)
        lock.acquire()
        try:
            ok = lib.EVP_MD_CTX_copy_ex(ctx, self._ctx)
        finally:
            lock.release()
        if not ok:
            ffi.release(ctx)
            raise_error("EVP_MD_CTX_copy_ex")
        other._pending = None
        other._ctx = ctx
        other._lock = _thread.allocate_lock()
        return other


class HASHXOF(HASH):
    """An extendable-output hash object (SHAKE): ``digest(length)``."""

    __slots__ = ()

    def digest(self, length):
        """``length`` bytes of output for the data so far."""
        length = _index(length)
        if length < 0:
            raise ValueError("negative digest length")
        if length > _SSIZE_MAX:
            raise OverflowError("Python int too large to convert to C ssize_t")
        pending = self._pending
        out = ffi.new("unsigned char[]", length)
        lock = self._lock
        if lock is None:
            ok = _oneshot(self._alg.md, pending, len(pending), out, length, 1)
        else:
            lock.acquire()
            try:
                ok = _final_copy(self._ctx, out, length, 1)
            finally:
                lock.release()
        if not ok:
            raise_error("computing the digest")
        return ffi.buffer(out, length)[:]

    def hexdigest(self, length):
        return self.digest(length).hex()


_SSIZE_MAX = (1 << (8 * ffi.sizeof("size_t") - 1)) - 1


def _make(alg, data):
    """A lazy hash object of ``alg`` holding ``data`` (what new() returns)."""
    obj = _new_object(HASHXOF if alg.xof else HASH)
    obj._alg = alg
    obj._lock = None
    if type(data) is bytes:
        obj._pending = data
    else:
        obj._pending = b""
        obj._first_update(data)
    return obj


_new_object = object.__new__


# --------------------------------------------------------------------------
# Constructors


def new(name, data=b"", **kwargs):
    """new(name, data=b'', *, usedforsecurity=True) -> a hash object for ``name``.

    ``name`` is a hashlib name ("sha256", "sha3_256", "blake2b") or any digest
    name the loaded OpenSSL providers know ("SHA2-256", "sm3").  For "blake2b"
    and "blake2s" the keyword arguments of :class:`blake2b` are accepted.
    """
    if name == "blake2b" or name == "blake2s":
        return (blake2b if name == "blake2b" else blake2s)(data, **kwargs)
    usedforsecurity = True
    for key, value in kwargs.items():
        if key == "usedforsecurity":
            usedforsecurity = value
        elif key == "string":
            raise TypeError("argument for new() given by name ('string') and position (2)")
        else:
            raise TypeError(f"'{key}' is an invalid keyword argument for new()")
    return _make(_algorithm(name, usedforsecurity), data)


def _named(name, title, base=HASH):
    """The constructor of one algorithm: a HASH subclass, so ``sha256(data)`` is a
    single type call (a function calling HASH() costs CPython one more frame)."""
    alg = None  # fetched on first use, then kept

    def __init__(self, string=b"", *, usedforsecurity=True):
        nonlocal alg
        if usedforsecurity:
            a = alg
            if a is None:
                a = alg = _algorithm(name)
        else:
            a = _algorithm(name, False)
        self._alg = a
        self._lock = None
        if type(string) is bytes:
            self._pending = string
        else:
            self._pending = b""
            self._first_update(string)

    __init__.__qualname__ = f"{name}.__init__"
    doc = f"Returns a {title} hash object; optionally initialized with a string."
    namespace = {"__slots__": (), "__init__": __init__, "__doc__": doc, "__module__": __name__}
    return type(name, (base,), namespace)


md5 = _named("md5", "md5")
sha1 = _named("sha1", "sha1")
sha224 = _named("sha224", "sha224")
sha256 = _named("sha256", "sha256")
sha384 = _named("sha384", "sha384")
sha512 = _named("sha512", "sha512")
sha512_224 = _named("sha512_224", "sha512_224")
sha512_256 = _named("sha512_256", "sha512_256")
sha3_224 = _named("sha3_224", "sha3-224")
sha3_256 = _named("sha3_256", "sha3-256")
sha3_384 = _named("sha3_384", "sha3-384")
sha3_512 = _named("sha3_512", "sha3-512")
shake_128 = _named("shake_128", "shake-128 variable length", HASHXOF)
shake_256 = _named("shake_256", "shake-256 variable length", HASHXOF)


# --------------------------------------------------------------------------
# BLAKE2 with hashlib's full signature, on OpenSSL's BLAKE2 digests and MACs.

_MAC_CACHE = ({}, {})  # [usedforsecurity] -> {OpenSSL MAC name: EVP_MAC}


def _fetch_mac(name, usedforsecurity):
    cache = _MAC_CACHE[1 if usedforsecurity else 0]
    mac = cache.get(name)
    if mac is None:
        mac = lib.EVP_MAC_fetch(_NULL, name.encode(), _NULL if usedforsecurity else b"-fips")
        if mac == _NULL:
            clear_errors()
            return None
        with _FETCH_LOCK:
            kept = cache.setdefault(name, mac)
        if kept is not mac:
            lib.EVP_MAC_free(mac)
            mac = kept
    return mac


def _settable(params, name):
    return params != _NULL and lib.OSSL_PARAM_locate_const(params, name) != _NULL


def _param_array(items):
    """An OSSL_PARAM array for ``items`` ((name, int | bytes, note) triples) and the
    cdata that must stay alive with it (OSSL_PARAM keeps pointers)."""
    keep = []
    params = ffi.new("OSSL_PARAM[]", len(items) + 1)
    for i, (name, value, _) in enumerate(items):
        key = ffi.new("char[]", name)
        keep.append(key)
        if isinstance(value, int):
            number = ffi.new("size_t *", value)
            keep.append(number)
            params[i] = lib.OSSL_PARAM_construct_size_t(key, number)
        else:
            octets = ffi.from_buffer(value)
            keep.append(octets)
            params[i] = lib.OSSL_PARAM_construct_octet_string(key, octets, len(octets))
    params[len(items)] = lib.OSSL_PARAM_construct_end()
    return params, keep


class _Blake2Algorithm(_Algorithm):
    """A BLAKE2 configuration: the digest, or the keyed MAC (``mac`` True)."""

    __slots__ = ("mac",)


def _c_int(value):
    value = _index(value)
    if not -0x80000000 <= value <= 0x7FFFFFFF:
        raise OverflowError("Python int too large to convert to C int")
    return value


def _c_unsigned(value, overflow_message):
    value = _index(value)
    if value < 0:
        raise ValueError("value must be positive")
    if value > 0xFFFFFFFFFFFFFFFF:
        raise OverflowError(overflow_message)
    return value


def _parameter_bytes(value):
    if isinstance(value, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    if type(value) is memoryview and not value.c_contiguous:
        raise BufferError("memoryview: underlying buffer is not C-contiguous")
    try:
        with memoryview(value) as view:
            return view.tobytes()
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(value).__name__}'") from None


class _Blake2(HASH):
    """Shared body of :class:`blake2b` and :class:`blake2s`."""

    __slots__ = ()
    _DIGEST = _MAC = ""  # OpenSSL names, set by the subclasses

    def _setup(
        self,
        data,
        digest_size,
        key,
        salt,
        person,
        fanout,
        depth,
        leaf_size,
        node_offset,
        node_depth,
        inner_size,
        last_node,
        usedforsecurity,
    ):
        cls = type(self)
        name = cls._NAME
        # Conversions first, in signature order, as the C argument parser does.
        digest_size = _c_int(digest_size)
        key = _parameter_bytes(key)
        salt = _parameter_bytes(salt)
        person = _parameter_bytes(person)
        fanout = _c_int(fanout)
        depth = _c_int(depth)
        leaf_size = _c_unsigned(leaf_size, "Python int too large to convert to C unsigned long")
        node_offset = _c_unsigned(node_offset, "int too big to convert")
        node_depth = _c_int(node_depth)
        inner_size = _c_int(inner_size)
        last_node = bool(last_node)
        usedforsecurity = bool(usedforsecurity)
        # Then hashlib's range checks, in _blake2's order and words.
        if not 1 <= digest_size <= cls.MAX_DIGEST_SIZE:
            raise ValueError(f"digest_size must be between 1 and {cls.MAX_DIGEST_SIZE} bytes")
        if len(salt) > cls.SALT_SIZE:
            raise ValueError(f"maximum salt length is {cls.SALT_SIZE} bytes")
        if len(person) > cls.PERSON_SIZE:
            raise ValueError(f"maximum person length is {cls.PERSON_SIZE} bytes")
        if not 0 <= fanout <= 255:
            raise ValueError("fanout must be between 0 and 255")
        if not 1 <= depth <= 255:
            raise ValueError("depth must be between 1 and 255")
        if leaf_size > 0xFFFFFFFF:
            raise OverflowError("leaf_size is too large")
        if node_offset > cls._MAX_NODE_OFFSET:
            raise OverflowError("node_offset is too large")
        if not 0 <= node_depth <= 255:
            raise ValueError("node_depth must be between 0 and 255")
        if not 0 <= inner_size <= cls.MAX_DIGEST_SIZE:
            raise ValueError(f"inner_size must be between 0 and is {cls.MAX_DIGEST_SIZE}")
        if len(key) > cls.MAX_KEY_SIZE:
            raise ValueError(f"maximum key length is {cls.MAX_KEY_SIZE} bytes")
        tree = {
            "fanout": (fanout, 1),
            "depth": (depth, 1),
            "leaf_size": (leaf_size, 0),
            "node_offset": (node_offset, 0),
            "node_depth": (node_depth, 0),
            "inner_size": (inner_size, 0),
            "last_node": (last_node, False),
        }
        asked = [f"{k}={v!r}" for k, (v, default) in tree.items() if v != default]
        if asked:
            raise ValueError(f"{name}: OpenSSL cannot honour tree hashing parameters ({', '.join(asked)})")
        if type(data) is not bytes:  # hashlib's data errors come last too
            _as_cdata(data)

        base = _algorithm(name, usedforsecurity)  # the plain digest: sizes, lazy path
        if not key and digest_size == cls.MAX_DIGEST_SIZE and not salt and not person:
            self._alg = base
            self._lock = None
            self._pending = b""
            self._first_update(data)
            return

        # OpenSSL parameter name, value, and how hashlib's caller spelled it.
        items = []
        if digest_size != cls.MAX_DIGEST_SIZE:
            items.append((b"size", digest_size, f"digest_size={digest_size}"))
        if salt:
            items.append((b"salt", salt, "salt"))
        if person:
            items.append((b"custom", person, "person"))
        alg = _Blake2Algorithm(base.md, name, digest_size, base.block_size, False)
        if key:
            alg.mac = True
            mac = _fetch_mac(cls._MAC, usedforsecurity)
            if mac is None:
                raise ValueError(f"the running OpenSSL cannot honour {name}(key=...): no {cls._MAC}")
            settable = lib.EVP_MAC_settable_ctx_params(mac)
            items.insert(0, (b"key", key, "key=..."))  # given to EVP_MAC_init, checked like the rest
        else:
            alg.mac = False
            settable = lib.EVP_MD_settable_ctx_params(base.md)
        # Providers silently ignore parameters they do not know: check every one.
        missing = [n.decode() for n, _, _ in items if not _settable(settable, n)]
        if missing:
            raise ValueError(
                f"the running OpenSSL cannot honour {name}({', '.join(a for _, _, a in items)}): its "
                f"{cls._MAC if key else cls._DIGEST} has no settable {'/'.join(missing)} parameter"
            )
        if key:
            del items[0]
        what = f"{name}({', '.join(a for _, _, a in items)})"
        params, keep = _param_array(items)
        if key:
            ctx = lib.EVP_MAC_CTX_new(mac)
            openssl_assert(ctx != _NULL, "EVP_MAC_CTX_new")
            ctx = ffi.gc(ctx, lib.EVP_MAC_CTX_free, _CTX_SIZE)
            ok = lib.EVP_MAC_init(ctx, key, len(key), params)
        else:
            ctx = lib.EVP_MD_CTX_new()
            openssl_assert(ctx != _NULL, "EVP_MD_CTX_new")
            ctx = ffi.gc(ctx, lib.EVP_MD_CTX_free, _CTX_SIZE)
            ok = lib.EVP_DigestInit_ex2(ctx, base.md, params)
        del keep
        if not ok:
            ffi.release(ctx)
            raise_error(f"setting up {what}")
        self._alg = alg
        self._pending = None
        self._ctx = ctx
        self._lock = _thread.allocate_lock()
        if data:
            self.update(data)

    # In MAC mode the context is an EVP_MAC_CTX; otherwise HASH's code applies.
    def update(self, data):
        if not getattr(self._alg, "mac", False):
            return HASH.update(self, data)
        if type(data) is not bytes:
            data = _as_cdata(data)
        with self._lock:
            ok = lib.EVP_MAC_update(self._ctx, data, len(data))
        if not ok:
            raise_error("EVP_MAC_update")

    def digest(self):
        if not getattr(self._alg, "mac", False):
            return HASH.digest(self)
        size = self._alg.digest_size
        out = ffi.new("unsigned char[]", size)
        with self._lock:
            ok = lib.tls_mac_final_copy(self._ctx, out, size)
        if not ok:
            raise_error("EVP_MAC_final")
        return ffi.buffer(out, size)[:]

    def copy(self):
        if not getattr(self._alg, "mac", False):
            return HASH.copy(self)
        with self._lock:
            ctx = lib.EVP_MAC_CTX_dup(self._ctx)
        if ctx == _NULL:
            raise_error("EVP_MAC_CTX_dup")
        other = _new_object(type(self))
        other._alg = self._alg
        other._pending = None
        other._ctx = ffi.gc(ctx, lib.EVP_MAC_CTX_free, _CTX_SIZE)
        other._lock = _thread.allocate_lock()
        return other


class blake2b(_Blake2):
    """Return a new BLAKE2b hash object (OpenSSL's BLAKE2B-512 digest, or BLAKE2BMAC with a key).

    Tree hashing (fanout, depth, ... other than their defaults) raises ValueError:
    OpenSSL cannot do it.  So do ``digest_size``/``salt``/``person`` without a key
    when the running OpenSSL's digest cannot take them.
    """

    __slots__ = ()
    MAX_DIGEST_SIZE = 64
    MAX_KEY_SIZE = 64
    SALT_SIZE = 16
    PERSON_SIZE = 16
    _NAME = "blake2b"
    _DIGEST = "BLAKE2B-512"
    _MAC = "BLAKE2BMAC"
    _MAX_NODE_OFFSET = 0xFFFFFFFFFFFFFFFF

    def __init__(
        self,
        data=b"",
        /,
        *,
        digest_size=64,
        key=b"",
        salt=b"",
        person=b"",
        fanout=1,
        depth=1,
        leaf_size=0,
        node_offset=0,
        node_depth=0,
        inner_size=0,
        last_node=False,
        usedforsecurity=True,
    ):
        self._setup(
            data,
            digest_size,
            key,
            salt,
            person,
            fanout,
            depth,
            leaf_size,
            node_offset,
            node_depth,
            inner_size,
            last_node,
            usedforsecurity,
        )


class blake2s(_Blake2):
    """Return a new BLAKE2s hash object (OpenSSL's BLAKE2S-256 digest, or BLAKE2SMAC with a key).

    Same rules as :class:`blake2b`.
    """

    __slots__ = ()
    MAX_DIGEST_SIZE = 32
    MAX_KEY_SIZE = 32
    SALT_SIZE = 8
    PERSON_SIZE = 8
    _NAME = "blake2s"
    _DIGEST = "BLAKE2S-256"
    _MAC = "BLAKE2SMAC"
    _MAX_NODE_OFFSET = 0xFFFFFFFFFFFF

    def __init__(
        self,
        data=b"",
        /,
        *,
        digest_size=32,
        key=b"",
        salt=b"",
        person=b"",
        fanout=1,
        depth=1,
        leaf_size=0,
        node_offset=0,
        node_depth=0,
        inner_size=0,
        last_node=False,
        usedforsecurity=True,
    ):
        self._setup(
            data,
            digest_size,
            key,
            salt,
            person,
            fanout,
            depth,
            leaf_size,
            node_offset,
            node_depth,
            inner_size,
            last_node,
            usedforsecurity,
        )


# --------------------------------------------------------------------------
# algorithms_available (computed on first use) and file_digest


def _available():
    names = set()
    for ossl in _binding_list_names(lib.TLS_LIST_DIGESTS):
        md = lib.EVP_MD_fetch(_NULL, ossl.encode(), _NULL)
        if md == _NULL:  # listed but not fetchable (a provider's odd entry)
            clear_errors()
            continue
        try:
            if lib.EVP_MD_get_type(md) != 0:  # CPython leaves NID-less digests out
                names.add(_py_name(md))
        finally:
            lib.EVP_MD_free(md)
    return names


algorithms_available = _available()


def file_digest(fileobj, digest, /, *, _bufsize=2**18):
    """Hash the contents of a file-like object opened for binary reading.

    ``digest`` is a hash name or a callable returning a hash object (such as
    ``tls.hashes.sha256``).  Returns the hash object.
    """
    digestobj = new(digest) if isinstance(digest, str) else digest()
    if hasattr(fileobj, "getbuffer"):
        # io.BytesIO: hash its buffer without a copy, and let go of the export.
        with fileobj.getbuffer() as view:
            digestobj.update(view)
        return digestobj
    # Only binary files implement readinto().
    if not (hasattr(fileobj, "readinto") and hasattr(fileobj, "readable") and fileobj.readable()):
        raise ValueError(f"'{fileobj!r}' is not a file-like object in binary reading mode.")
    buf = bytearray(_bufsize)  # reused for every read
    view = memoryview(buf)
    while True:
        size = fileobj.readinto(buf)
        if size == 0:
            break  # EOF
        digestobj.update(view[:size])
    return digestobj
