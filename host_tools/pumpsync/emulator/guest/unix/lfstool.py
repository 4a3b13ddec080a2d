# lfstool.py -- runs INSIDE MicroPython (unix port), started by the host
# (host_tools/pumpsync/emulator/flash_image.py) to work on a unit's littlefs
# image while no runner uses it, or while the unit sleeps (reads only):
#
#   micropython lfstool.py IMAGE BLOCK_SIZE BLOCKS PROGSIZE mkfs SOURCE_DIR
#       format the image and copy the host directory SOURCE_DIR onto it
#   ... cat PATH     the file's bytes on stdout (exit code 2: no such file)
#   ... ls PATH      the names in a directory, one a line (exit code 2: none)
#
# The image's littlefs is mounted at /flash; the host's files stay visible
# at their own paths (the default VfsPosix root).

import os
import sys
import vfs

import flashdev

_CHUNK = 4096


def _mount(image, block_size, blocks, progsize, writable):
    flash = flashdev.ImageFlash(open(image, "r+b" if writable else "rb"), block_size, blocks)
    if writable:
        vfs.VfsLfs2.mkfs(flash, progsize=progsize)
    vfs.mount(vfs.VfsLfs2(flash, progsize=progsize), "/flash", readonly=not writable)


def _copy_tree(source, target):
    for entry in os.ilistdir(source):
        name, kind = entry[0], entry[1]
        src, dst = source + "/" + name, target + "/" + name
        if kind == 0x4000:
            os.mkdir(dst)
            _copy_tree(src, dst)
            continue
        buf = bytearray(_CHUNK)
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            while True:
                n = fin.readinto(buf)
                if not n:
                    break
                fout.write(memoryview(buf)[:n])


def _cat(path):
    buf = bytearray(_CHUNK)
    out = sys.stdout.buffer
    with open("/flash" + path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            out.write(memoryview(buf)[:n])


def main(argv):
    image, block_size, blocks, progsize, command, arg = argv[1], int(argv[2]), int(argv[3]), int(argv[4]), \
        argv[5], argv[6]
    _mount(image, block_size, blocks, progsize, command == "mkfs")
    try:
        if command == "mkfs":
            _copy_tree(arg.rstrip("/"), "/flash")
        elif command == "cat":
            _cat(arg)
        elif command == "ls":
            for name in sorted(os.listdir("/flash" + arg.rstrip("/"))):
                print(name)
        else:
            raise ValueError("unknown command " + command)
    except OSError as exc:
        if exc.errno in (2, 20, 21):  # ENOENT, ENOTDIR, EISDIR: no such file
            sys.exit(2)
        raise
    vfs.umount("/flash")


main(sys.argv)
