"""The Dockerfile's steps, run as a script where no container engine is at hand: exactly the files it COPYs,
its `pip install`, into a fresh virtual environment, then the installed command as the image runs it (no
editable install, no source tree beside it): the package carries its templates, migrations and data."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.servers


def dockerfile_steps() -> tuple[list[tuple[str, str]], list[str]]:
    copies, runs = [], []
    for line in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines():
        if line.startswith("COPY "):
            *sources, target = line.split()[1:]
            copies += [(source, target) for source in sources]
        elif line.startswith("RUN "):
            runs.append(line.removeprefix("RUN ").strip())
    return copies, runs


def test_the_dockerfile_copies_every_package_the_project_installs():
    copies, _runs = dockerfile_steps()
    copied = {source.rstrip("/") for source, _ in copies}
    packages = re.findall(r'^    "([a-z_]+)(?:\.[a-z_.]+)?",$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert set(packages) <= copied, set(packages) - copied


def test_the_dockerfiles_install_steps_give_a_working_command(tmp_path):
    copies, runs = dockerfile_steps()
    app = tmp_path / "app"
    app.mkdir()
    for source, target in copies:  # COPY a b ./ (files into the folder), COPY config ./config (a folder)
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, app / target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / source, app / target / Path(source).name if target.endswith("/") else app / target)
    (pip_step,) = [r for r in runs if "pip install" in r]
    install = re.search(r"pip install ('[^']+'|\S+)", pip_step)
    assert install is not None
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", install.group(1).strip("'")], cwd=app,
                   env=env, check=True, timeout=900)
    work = tmp_path / "data"
    work.mkdir()
    command = venv / "bin" / "uip-intake"
    clean = {k: v for k, v in env.items() if not k.startswith("UIP_INTAKE_")}
    for args in (["--help"], ["form", "-o", "skema.docx"], ["check"], ["demo"], ["queue", "--json"]):
        result = subprocess.run([str(command), *args], cwd=work, env=clean, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    assert (work / "skema.docx").stat().st_size > 10_000
    assert (work / "var" / "outbox").is_dir() and any((work / "var" / "outbox").iterdir())
