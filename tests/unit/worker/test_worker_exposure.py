"""`streamproc worker` refuses to serve every store to the network without a token."""

from __future__ import annotations

import os
import subprocess
import sys


def test_worker_on_all_interfaces_without_token_exits_with_the_reason(tmp_path) -> None:
    env = dict(os.environ, STREAMPROC_WEB_HOST="0.0.0.0", STREAMPROC_STATE_DIR=str(tmp_path),
               STREAMPROC_BROKER="kafka://127.0.0.1:1")  # never reached
    env.pop("STREAMPROC_API_TOKEN", None)
    env.pop("STREAMPROC_ALLOW_ANONYMOUS", None)
    proc = subprocess.run([sys.executable, "-m", "streamproc", "worker"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "refusing to serve on 0.0.0.0 without STREAMPROC_API_TOKEN" in proc.stderr
