"""Legacy Word 97-2003 (.doc) to .docx with LibreOffice headless, so the .docx readers take over.

Each run gets its own temporary profile (``-env:UserInstallation``) and HOME, so runs never share or
lock a profile; the whole process group is killed at the timeout. LibreOffice missing, failing or
timing out is an :class:`UnreadableFile` asking for a .docx, never a crash.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from parsers.errors import UnreadableFile
from parsers.problem_codes import RefusalCause as Cause
from parsers.problem_codes import UnreadableCode as Code


def _lift_memory_limit() -> None:
    """LibreOffice maps far more address space than it uses: give it the hard limit, not the parser's."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def convert_doc(data: bytes, libreoffice: str | None, timeout: float) -> bytes:
    """The .docx LibreOffice makes of ``data`` (a .doc file)."""
    exe = shutil.which(libreoffice) if libreoffice else None
    if exe is None:
        raise UnreadableFile(Code.UNSUPPORTED, Cause.DOC_UNSUPPORTED)
    with tempfile.TemporaryDirectory(prefix="uip-doc-") as tmp:
        source, out = Path(tmp) / "form.doc", Path(tmp) / "out"
        source.write_bytes(data)
        command = [exe, f"-env:UserInstallation={Path(tmp, 'profile').as_uri()}", "--headless", "--norestore",
                   "--nologo", "--nodefault", "--nolockcheck", "--convert-to", "docx:MS Word 2007 XML",
                   "--outdir", str(out), str(source)]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "LANG": "C.UTF-8"}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp,
                                   start_new_session=True, preexec_fn=_lift_memory_limit)
        try:
            process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise UnreadableFile(Code.TIMEOUT, Cause.DOC_TIMEOUT) from exc
        result = out / "form.docx"
        if process.returncode != 0 or not result.exists():
            raise UnreadableFile(Code.CORRUPT, Cause.DOC_DAMAGED)
        return result.read_bytes()
