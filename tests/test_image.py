"""The container image, built from the Dockerfile and run (podman; the Debian base made by .ci/container-base):
as a non-root user it runs the demo and `check`, reads a .doc form through its own LibreOffice from a mailbox,
and answers its health check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import _missing

from ingest.demo import application_email, to_bytes

pytestmark = pytest.mark.image
ROOT = Path(__file__).resolve().parents[1]
IMAGE = "localhost/uip-intake:test"
BASE = "docker.io/library/debian:bookworm-slim"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")  # a TLS-inspecting proxy's CA, where the machine has one


def podman(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    if shutil.which("podman") is None:
        _missing("podman (run .ci/container-base as root)")
    if podman("image", "exists", BASE).returncode != 0:
        _missing(f"the base image {BASE} (run .ci/container-base as root)")
    build = ["build", "--format", "docker", "--network=host", "--pull=never", "-t", IMAGE, str(ROOT)]
    if CA_BUNDLE.is_file():
        build[1:1] = ["--secret", f"id=ca,src={CA_BUNDLE}"]
    built = podman(*build, timeout=1800)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    yield IMAGE


def run(image: str, script: str, *options: str) -> subprocess.CompletedProcess[str]:
    return podman("run", "--rm", "--network=host", *options, image, "sh", "-c", script, timeout=600)


def test_the_image_runs_as_a_non_root_user_with_a_health_check_and_its_own_libreoffice(image):
    inspected = json.loads(podman("image", "inspect", image).stdout)[0]
    assert inspected["Config"]["User"] == "uip"
    assert inspected["Healthcheck"]["Test"] == ["CMD", "uip-intake", "health"]  # podman keeps it beside Config
    versions = run(image, "id -u && soffice --version && python -c 'import uno'")
    assert versions.returncode == 0, versions.stderr
    uid, libreoffice = versions.stdout.splitlines()[:2]
    assert uid == "10001" and libreoffice.startswith("LibreOffice 7.")


def test_the_demo_and_check_run_inside_the_image(image):
    result = run(image, "uip-intake demo && uip-intake check")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "One poll: 11 seen, 11 processed" in result.stdout
    assert "✓ LibreOffice (.doc forms): LibreOffice 7." in result.stdout


def test_a_doc_form_from_the_mailbox_is_read_inside_the_image_and_the_worker_is_healthy(image):
    from form_corpus import FIXTURES, libreoffice

    if libreoffice() is None:
        _missing("LibreOffice on the host (to make the .doc fixture)")
    doc = next(f for f in FIXTURES if f.filename == "skema.doc").build()
    with tempfile.TemporaryDirectory(prefix="uip-image-") as tmp:
        maildir = Path(tmp)
        for sub in ("new", "cur", "tmp"):
            (maildir / sub).mkdir()
        (maildir / "new" / "1.doc-form.eml").write_bytes(to_bytes(application_email(
            None, sender="Sagsbehandler <sag@aarhus.dk>", message_id="<doc-in-image@aarhus.dk>",
            annexes={"skema.doc": doc})))
        os.chmod(maildir, 0o777)
        for path in maildir.rglob("*"):
            os.chmod(path, 0o777)
        result = run(image, "uip-intake poll --once && uip-intake queue --json && uip-intake health",
                     "-v", f"{maildir}:/mail:z", "-e", "UIP_INTAKE_MAILBOX__MAILDIR_PATH=/mail")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    queue = json.loads(result.stdout[result.stdout.index("["):result.stdout.rindex("]") + 1])
    [application] = queue
    assert application["municipality"] == "Aarhus Kommune" and application["status"] == "complete", application
