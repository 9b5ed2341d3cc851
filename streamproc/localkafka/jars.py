"""The Kafka jars: resolved once from Maven Central by ``mvn`` from ``broker/pom.xml`` into
``Settings.jars_dir``, and again only when the pom changes (the ``.complete`` marker holds
the hash of the pom they were resolved for)."""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from streamproc.config import Settings
from streamproc.localkafka.errors import BrokerError
from streamproc.localkafka.layout import pom_path
from streamproc.localkafka.process import run_checked, state_lock

MARKER = ".complete"


def classpath(settings: Settings) -> str:
    """The JVM class path of every node: all the cached jars (one copy for a cluster)."""
    return str(settings.jars_dir / "*")


def pom_hash(pom: Path | None = None) -> str:
    return hashlib.sha256((pom or pom_path()).read_bytes()).hexdigest()


def maven_command(pom: Path, out_dir: Path, mvn: str = "mvn") -> list[str]:
    """``mvn`` copying the pom's runtime dependencies, quietly, into ``out_dir``."""
    return [
        mvn,
        "-B",
        "-q",
        "-Dstyle.color=never",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={out_dir}",
    ]


def jars_cached(settings: Settings) -> bool:
    try:
        return (settings.jars_dir / MARKER).read_text().strip() == pom_hash()
    except OSError:
        return False


def ensure_jars(settings: Settings, quiet: bool = False) -> Path:
    """Resolve the Kafka jars into ``settings.jars_dir`` unless already cached for this pom.

    Maven is needed only when they are not: a checkout with cached jars runs without it."""
    if not pom_path().exists():
        raise BrokerError(f"{pom_path()} not found; run streamproc from its source checkout")
    if jars_cached(settings):
        return settings.jars_dir
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(
            "Maven (mvn) is not installed; it is needed once to download the Kafka jars "
            "(apt-get install maven)"
        )
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with state_lock(settings, "jars"):
        if not jars_cached(settings):  # another process may have fetched them meanwhile
            say = (lambda _msg: None) if quiet else (lambda msg: print(msg, file=sys.stderr))
            _download(settings, mvn, say)
    return settings.jars_dir


def _download(settings: Settings, mvn: str, say: Callable[[str], None]) -> None:
    """Fetch into a temporary dir beside the jars dir, then swap it in: an interrupted
    download never leaves a jars dir that looks complete."""
    say(f"Downloading Apache Kafka jars from Maven Central into {settings.jars_dir} ...")
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=".jars-", dir=settings.state_dir))
    try:
        run_checked(maven_command(pom_path(), tmp, mvn), "mvn failed to download the Kafka jars")
        (tmp / MARKER).write_text(pom_hash() + "\n")
        _remove(settings.jars_dir)
        tmp.rename(settings.jars_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    count = sum(1 for _ in settings.jars_dir.glob("*.jar"))
    say(f"Downloaded {count} jars in {time.monotonic() - started:.1f}s")


def _remove(path: Path) -> None:
    """Whatever is at ``path``: a link (the tests link a shared jars dir), a file or a dir."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
