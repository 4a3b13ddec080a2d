# flashdev.py -- runs INSIDE MicroPython (unix port), in the emulator's runner
# and in lfstool.py.
#
# The unit's flash chip: a MicroPython block device (extended interface:
# readblocks/writeblocks with an offset, ioctl 4 block count, 5 block size,
# 6 erase) over a littlefs image file on the host.  Every program and erase
# is one seek + write + flush, so a process killed between two operations
# leaves exactly the operations before it on the image.
#
# No method allocates on the heap in the normal path: littlefs calls them from
# C, and an exception raised there (MemoryError) would unwind through
# littlefs's own frames, which a board's C block device never does.  `watch`
# (optional) is told about each program/erase before it happens and returns
# how many bytes of it reach the flash (see hostlink.FlashWatch).

OP_PROG = 1
OP_ERASE = 2
_ERASED = b"\xff" * 256


class ImageFlash:
    def __init__(self, image, block_size, block_count, watch=None):
        self._f = image  # opened "r+b"; stays usable after "/" is remounted
        self.block_size = block_size
        self.block_count = block_count
        self._watch = watch

    def readblocks(self, block, buf, offset=0):
        f = self._f
        f.seek(block * self.block_size + offset)
        f.readinto(buf)

    def writeblocks(self, block, buf, offset=0):
        size = len(buf)
        if self._watch is not None:
            size = self._watch.before(OP_PROG, block, size)
        f = self._f
        f.seek(block * self.block_size + offset)
        if size == len(buf):
            f.write(buf)
        else:  # a torn program: the power failed part-way
            f.write(memoryview(buf)[:size])
        f.flush()
        if self._watch is not None:
            self._watch.after()

    def ioctl(self, op, arg):
        if op == 4:
            return self.block_count
        if op == 5:
            return self.block_size
        if op == 6:
            self._erase(arg)
        return 0

    def _erase(self, block):
        size = self.block_size
        if self._watch is not None:
            size = self._watch.before(OP_ERASE, block, size)
        f = self._f
        f.seek(block * self.block_size)
        done = 0
        while done < size:
            f.write(_ERASED)
            done += len(_ERASED)
        f.flush()
        if self._watch is not None:
            self._watch.after()
