"""A LibreOffice kept running for .doc → .docx, driven over UNO: run as a script by the Python LibreOffice uses.

``python3 office_bridge.py SOFFICE PROFILE_DIR PIPE_NAME MAX_CONVERSIONS`` starts ``soffice`` listening on a
private named pipe (a Unix socket only its user can connect to; no TCP port), connects to it, and says
``READY`` on stdout. Then, for each request on stdin — 8 bytes of big-endian length, then the .doc bytes — it
loads the file hidden and read-only (no macros, no link updates), stores it with the "MS Word 2007 XML" filter
and answers ``b"K"`` + length + the .docx bytes, or ``b"E"`` + length + a short code when LibreOffice could
not read or write it. After ``MAX_CONVERSIONS`` files, at the end of stdin, or when LibreOffice has died, it
ends LibreOffice and exits; the service starts another. Timeouts are the caller's: it kills this process
group (this script and its LibreOffice) at the deadline.

Nothing of the project is imported here: the script runs under whichever Python has LibreOffice's ``uno``
module (Debian: ``/usr/bin/python3`` with ``python3-uno``), which need not be the service's own. It is
the transport of unoserver, which listens on TCP instead, reduced to what the service needs.
"""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
import sys
import time
from typing import BinaryIO

NO_UNO = 3  # exit status: this Python has no ``uno`` module
NO_OFFICE = 4  # exit status: LibreOffice did not start or could not be reached
LENGTH = struct.Struct(">Q")  # before every request's and answer's bytes
READY = b"READY\n"  # said once, when LibreOffice answers
CONVERTED, FAILED = b"K", b"E"  # an answer's first byte
START_SECONDS = 60.0


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _answer(status: bytes, payload: bytes) -> None:
    out = sys.stdout.buffer
    out.write(status + LENGTH.pack(len(payload)) + payload)
    out.flush()


def main(argv: list[str]) -> int:
    try:
        import uno
        from com.sun.star.beans import PropertyValue
        from com.sun.star.connection import NoConnectException
    except ImportError:
        return NO_UNO
    soffice, profile_dir, pipe, limit = argv[0], argv[1], argv[2], int(argv[3])
    office = subprocess.Popen(
        [soffice, "-env:UserInstallation=" + uno.systemPathToFileUrl(os.path.join(profile_dir, "profile")),
         "--headless", "--invisible", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
         "--accept=pipe,name=" + pipe + ";urp;"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            context = resolver.resolve("uno:pipe,name=" + pipe + ";urp;StarOffice.ComponentContext")
            break
        except NoConnectException:
            if office.poll() is not None or time.monotonic() > deadline:
                office.kill()
                return NO_OFFICE
            time.sleep(0.05)
    desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)

    def prop(name: str, value: object) -> object:
        return PropertyValue(Name=name, Value=value)

    # MacroExecutionMode 0: NEVER_EXECUTE; UpdateDocMode 0: NO_UPDATE (no linked content is fetched)
    load = (prop("Hidden", True), prop("ReadOnly", True), prop("MacroExecutionMode", 0), prop("UpdateDocMode", 0))
    store = (prop("FilterName", "MS Word 2007 XML"), prop("Overwrite", True))
    source, target = os.path.join(profile_dir, "form.doc"), os.path.join(profile_dir, "form.docx")
    sys.stdout.buffer.write(READY)
    sys.stdout.buffer.flush()
    try:
        for _ in range(limit):
            header = _read_exactly(sys.stdin.buffer, LENGTH.size)
            if header is None:
                break
            data = _read_exactly(sys.stdin.buffer, LENGTH.unpack(header)[0])
            if data is None:
                break
            with open(source, "wb") as file:
                file.write(data)
            try:
                document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(source), "_blank", 0, load)
            except Exception:  # UNO's IllegalArgumentException, IOException or DisposedException
                _answer(FAILED, b"load")
                return 0  # LibreOffice may be hurt: the next file gets a fresh one
            if document is None:
                _answer(FAILED, b"load")
                if office.poll() is not None:
                    return NO_OFFICE
                continue
            try:
                document.storeToURL(uno.systemPathToFileUrl(target), store)
                with open(target, "rb") as result:
                    converted = result.read()
                os.unlink(target)
            except Exception:  # UNO's IOException: LibreOffice could not write this one
                _answer(FAILED, b"store")
                return 0
            finally:
                with contextlib.suppress(Exception):  # already disposed by a failing filter
                    document.close(True)
            _answer(CONVERTED, converted)
    finally:
        with contextlib.suppress(Exception):  # the office is already gone (the connection closes with it)
            desktop.terminate()
        try:
            office.wait(10)
        except subprocess.TimeoutExpired:
            office.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
