#!/usr/bin/env python3
"""Copies header folders out of PyPI wheels without downloading the wheels.

    wheel-headers.py DEST NAME==VERSION:RECORD_SHA256:FOLDER[,FOLDER...] ...

NCCL's and cuBLAS's wheels are hundreds of megabytes of libraries around a few hundred kilobytes of headers, which
are all the CUDA shim needs to compile. Each wheel is a zip file, so its directory (at the end) and then each wanted
member are read with HTTP range requests. Integrity: the wheel's RECORD (its list of files with their sha256) must
have the pinned hash, and every copied file must match its line in RECORD.
"""
import base64
import hashlib
import io
import pathlib
import re
import sys
import urllib.request
import zipfile

INDEX = "https://pypi.org/simple"


class RemoteFile(io.RawIOBase):
    """A read-only, seekable view of a file served over HTTPS that honours Range requests."""

    def __init__(self, url):
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=120) as response:
            self.size = int(response.headers["Content-Length"])
        self.url = url
        self.position = 0

    def seekable(self):
        return True

    def readable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = base + offset
        return self.position

    def readinto(self, buffer):
        if self.position >= self.size:
            return 0
        last = min(self.size, self.position + len(buffer)) - 1
        request = urllib.request.Request(self.url, headers={"Range": f"bytes={self.position}-{last}"})
        with urllib.request.urlopen(request, timeout=120) as response:
            data = response.read()
        if response.status != 206 and self.position > 0:
            raise OSError(f"{self.url}: the server ignored the range request")
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def wheel_url(name, version):
    """The manylinux x86-64 (or pure) wheel of NAME==VERSION on PyPI."""
    page = urllib.request.urlopen(f"{INDEX}/{name}/", timeout=120).read().decode()
    stem = f"{name.replace('-', '_')}-{version}-"
    for href in re.findall(r'href="([^"#]+)', page):
        file = href.rsplit("/", 1)[-1]
        if file.startswith(stem) and (("manylinux" in file and "x86_64" in file) or file.endswith("-none-any.whl")):
            return href
    sys.exit(f"wheel-headers: no linux x86-64 wheel for {name}=={version} on {INDEX}")


def digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def copy_headers(dest, requirement, record_sha256, folders):
    name, version = requirement.split("==")
    with zipfile.ZipFile(io.BufferedReader(RemoteFile(wheel_url(name, version)), buffer_size=1 << 20)) as wheel:
        record_name = next(n for n in wheel.namelist() if n.endswith(".dist-info/RECORD"))
        record = wheel.read(record_name)
        if hashlib.sha256(record).hexdigest() != record_sha256:
            sys.exit(f"wheel-headers: {requirement}'s RECORD has sha256 {hashlib.sha256(record).hexdigest()}, "
                     f"not the pinned {record_sha256}")
        hashes = dict(line.split(",")[:2] for line in record.decode().splitlines() if line.count(",") >= 2)
        copied = 0
        for info in wheel.infolist():
            if info.is_dir() or not info.filename.startswith(tuple(folders)):
                continue
            data = wheel.read(info)
            if hashes.get(info.filename) != digest(data):
                sys.exit(f"wheel-headers: {info.filename} in {requirement} does not match its RECORD line")
            target = dest / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            copied += 1
        if copied == 0:
            sys.exit(f"wheel-headers: {requirement} has nothing under {', '.join(folders)}")
        print(f"wheel-headers: {copied} files from {requirement}", file=sys.stderr)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    dest = pathlib.Path(sys.argv[1])
    for spec in sys.argv[2:]:
        requirement, record_sha256, folders = spec.split(":")
        copy_headers(dest, requirement, record_sha256, folders.split(","))


if __name__ == "__main__":
    main()
