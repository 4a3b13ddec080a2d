# emuvfs.py -- runs INSIDE the MicroPython wasm interpreter.
#
# A user VFS (MicroPython's VFS protocol) whose storage is a directory on the
# HOST, reached through the synchronous JS module `_emufs` (see runner.mjs).
#
# Power-loss model (littlefs-like): a file opened for writing is a RAM buffer;
# the whole file is committed to the host on flush()/close() (the host does
# tmp + fsync + rename), so killing node at any moment leaves either the old
# or the new content.  rename/remove/mkdir/rmdir are single host operations.
#
# Data crosses the JS boundary WITHOUT conversion: Python hands JS the address
# of a bytes/bytearray (uctypes.addressof) and JS copies from/to the wasm heap.
# (Passing bytes as a value gives JS a PyProxy; a JS Uint8Array gives Python a
# JsProxy without buffer protocol -- both are slow or awkward.)
#
# JS functions never throw (a JS exception unwinds straight through the VM,
# bypassing Python try/except); they return an int errno (MicroPython numbers)
# on failure, otherwise a str (JSON) / int >= 0.

import io
import json
import uctypes
import _emufs

S_IFDIR = 0x4000
S_IFREG = 0x8000


def _chk(r):
    # JS returns a negative int -errno on failure.
    if isinstance(r, int) and r < 0:
        raise OSError(-r)
    return r


def _load(path):
    """Read a whole host file into a new bytearray (2 JS calls, 1 copy)."""
    n = _chk(_emufs.load(path))  # host reads file, keeps it, returns size
    buf = bytearray(n)
    if n:
        _emufs.take(uctypes.addressof(buf))  # JS copies into the wasm heap
    return buf


class _WFile(io.IOBase):
    """A file opened with w/a/x/+ : RAM buffer, committed on flush/close."""

    def __init__(self, path, data, text, pos):
        self._path = path
        self._buf = data
        self._committed = len(data) if pos == len(data) and pos else 0  # bytes already on flash (append)
        self._text = text
        self._pos = pos
        self._dirty = True  # 'w' on an existing file must truncate at close
        self.closed = False

    # --- stream protocol (used by print(file=f), f.write from C, ...) ---
    def write(self, b):
        if self.closed:
            raise OSError(22)
        if isinstance(b, str):
            b = b.encode()
        n = len(b)
        end = self._pos + n
        if self._pos == len(self._buf):
            self._buf.extend(b)
        else:
            if end > len(self._buf):
                self._buf.extend(bytes(end - len(self._buf)))
            self._buf[self._pos:end] = b
        self._pos = end
        self._dirty = True
        return n

    def readinto(self, buf):
        n = min(len(buf), len(self._buf) - self._pos)
        buf[:n] = self._buf[self._pos:self._pos + n]
        self._pos += n
        return n

    def read(self, n=-1):
        if n is None or n < 0:
            n = len(self._buf) - self._pos
        b = bytes(self._buf[self._pos:self._pos + n])
        self._pos += len(b)
        return str(b, "utf-8") if self._text else b

    def seek(self, off, whence=0):
        base = (0, self._pos, len(self._buf))[whence]
        self._pos = max(0, base + off)
        return self._pos

    def tell(self):
        return self._pos

    def flush(self):
        if self.closed:
            raise OSError(22)
        if self._dirty:
            # The host rewrites the whole file (atomic), but reports only the
            # bytes a littlefs append would program, for honest wear figures.
            _chk(_emufs.commit(self._path, uctypes.addressof(self._buf), len(self._buf),
                               len(self._buf) - self._committed))
            self._committed = len(self._buf)
            self._dirty = False

    def close(self):
        if not self.closed:
            try:
                self.flush()
            finally:
                self.closed = True
                self._buf = None

    def ioctl(self, req, arg):
        # MP_STREAM_FLUSH=1, MP_STREAM_SEEK=2, MP_STREAM_CLOSE=4
        if req == 1:
            self.flush()
        elif req == 4:
            self.close()
        return 0

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def __del__(self):
        # A file garbage-collected without close() is NOT committed (as with
        # a board that loses power before close); nothing to do.
        pass


class HostVFS:
    """VFS protocol object; mount with vfs.mount(HostVFS(), '/')."""

    def __init__(self):
        self._cwd = "/"

    def __repr__(self):
        return "<HostVFS>"

    # -- path helpers --------------------------------------------------
    def _abs(self, path):
        # Paths arrive relative to the mount point ('/' for a root mount),
        # or relative to our cwd.  Normalise; '..' cannot escape '/'.
        if not path.startswith("/"):
            path = self._cwd.rstrip("/") + "/" + path
        out = []
        for p in path.split("/"):
            if p == "" or p == ".":
                continue
            if p == "..":
                if out:
                    out.pop()
                continue
            out.append(p)
        return "/" + "/".join(out)

    def _stat(self, path):
        return json.loads(_chk(_emufs.stat(path)))  # [mode, size, mtime]

    # -- VFS protocol --------------------------------------------------
    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def ilistdir(self, path):
        lst = json.loads(_chk(_emufs.listdir(self._abs(path))))
        for name, typ, size in lst:
            yield (name, typ, 0, size)

    def stat(self, path):
        mode, size, mtime = self._stat(self._abs(path))
        return (mode, 0, 0, 0, 0, 0, size, mtime, mtime, mtime)

    def statvfs(self, path):
        return tuple(json.loads(_emufs.statvfs()))

    def mkdir(self, path):
        _chk(_emufs.mkdir(self._abs(path)))

    def rmdir(self, path):
        _chk(_emufs.rmdir(self._abs(path)))

    def remove(self, path):
        _chk(_emufs.remove(self._abs(path)))

    def rename(self, old, new):
        _chk(_emufs.rename(self._abs(old), self._abs(new)))

    def chdir(self, path):
        p = self._abs(path)
        if not self._stat(p)[0] & S_IFDIR:
            raise OSError(20)  # ENOTDIR
        self._cwd = p

    def getcwd(self):
        # The VFS layer prepends the mount point; for a root mount it wants
        # the path *relative* to '/', or '' for the root itself.
        return "" if self._cwd == "/" else self._cwd

    def open(self, path, mode):
        p = self._abs(path)
        text = "b" not in mode
        if "w" in mode or "a" in mode or "x" in mode or "+" in mode:
            try:
                st = self._stat(p)
            except OSError as e:
                if e.errno != 2:
                    raise
                st = None
            if st is not None and st[0] & S_IFDIR:
                raise OSError(21)  # EISDIR
            if st is None:
                if "r" in mode:
                    raise OSError(2)
                parent = p.rsplit("/", 1)[0] or "/"
                if not self._stat(parent)[0] & S_IFDIR:  # raises ENOENT
                    raise OSError(20)
            elif "x" in mode:
                raise OSError(17)  # EEXIST
            keep = st is not None and ("a" in mode or "r" in mode)
            data = _load(p) if keep else bytearray()
            return _WFile(p, data, text, len(data) if "a" in mode else 0)
        # Read-only: whole file into a native BytesIO / StringIO.  Native
        # streams are what `import` (.py and .mpy) needs, and are fastest.
        data = _load(p)
        if text:
            return io.StringIO(str(data, "utf-8"))
        return io.BytesIO(data)
