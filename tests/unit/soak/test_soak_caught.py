"""The soak's table counts what the workers' consumers caught, from the workers' logs."""

from __future__ import annotations

from streamproc.soak.run import caught_in_logs


def test_records_read_again_and_refused_commits_are_counted_from_every_worker_log(tmp_path):
    (tmp_path / "worker-w1.log").write_text(
        "x records 5..6 of polls[2] were skipped on the way from the broker; reading them again\n"
        "x polls[2]: the record at 5 is not acknowledged, 3 later ones are; no commit past it\n")
    (tmp_path / "worker-w2.log").write_text(
        "x records 9..9 of polls[1] were skipped on the way from the broker; reading them again\n")
    (tmp_path / "soak.log").write_text("were skipped on the way from the broker\n")  # not a worker
    caught = caught_in_logs(tmp_path)
    assert list(caught.values()) == [2, 0, 1]
