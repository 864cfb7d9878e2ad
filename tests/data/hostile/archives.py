#!/usr/bin/python3
"""Writes the hostile archives of this corpus into OUTDIR (they are generated, not kept:
a bomb is small to make and large to store). Each holds a valid plugin (p/wazo/plugin.yml
and p/wazo/rules) plus one hostile part:

  chain.tar.gz      p/wazo/a -> .  then  p/wazo/esc -> a/a/a/a/../../../../../etc/passwd:
                    every link looks inside the tree, the chain leads out of it
  gzip-bomb.tar.gz  one file of BOMB bytes of zeros (about 1/1000 of that compressed)
  zip-bomb.zip      the same in a zip
  lying-zip.zip     a zip whose headers say its file holds 10 bytes; it inflates to BOMB
"""
import io, struct, sys, tarfile, zipfile

out, bomb = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300 << 20
PLUGIN = [("p/wazo/plugin.yml", b"name: archbomb\nnamespace: demo\nversion: 1.0.0\n"),
          ("p/wazo/rules", b"#!/bin/sh\nexit 0\n")]


class Zeros(io.RawIOBase):
    def __init__(self, n): self.left = n
    def readable(self): return True
    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


def tar(name, extra):
    with tarfile.open(f"{out}/{name}", "w:gz", compresslevel=1) as a:
        for path, data in PLUGIN:
            ti = tarfile.TarInfo(path)
            ti.size, ti.mode = len(data), 0o755
            a.addfile(ti, io.BytesIO(data))
        extra(a)


def links(a):
    for path, target in (("p/wazo/a", "."), ("p/wazo/esc", "a/a/a/a/../../../../../etc/passwd")):
        ti = tarfile.TarInfo(path)
        ti.type, ti.linkname = tarfile.SYMTYPE, target
        a.addfile(ti)


def zeros(a):
    ti = tarfile.TarInfo("p/zeros")
    ti.size = bomb
    a.addfile(ti, Zeros(bomb))


def zipbomb(name, lie):
    path = f"{out}/{name}"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for p, data in PLUGIN:
            z.writestr(p, data)
        with z.open("p/zeros", "w", force_zip64=False) as f:
            chunk = bytes(1 << 20)
            for _ in range(bomb >> 20):
                f.write(chunk)
    if lie:  # every header of p/zeros now says 10 bytes uncompressed
        raw = bytearray(open(path, "rb").read())
        name = b"p/zeros"
        at = 0
        while (at := raw.find(name, at + 1)) > 0:
            if raw[at - 30:at - 26] == b"PK\x03\x04":
                struct.pack_into("<I", raw, at - 30 + 22, 10)
            elif raw[at - 46:at - 42] == b"PK\x01\x02":
                struct.pack_into("<I", raw, at - 46 + 24, 10)
        open(path, "wb").write(raw)


tar("chain.tar.gz", links)
tar("gzip-bomb.tar.gz", zeros)
zipbomb("zip-bomb.zip", False)
zipbomb("lying-zip.zip", True)
