"""get_report's lookup of an id it does not know yet (web/report_api._settled_lookup)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from streamproc.web.report_api import _settled_lookup


class Jobs:
    """Report jobs whose agent applies the request while ``behind`` asks the broker."""

    def __init__(self, behind_answers: list[bool]) -> None:
        self.record = None
        self.answers = behind_answers

    def lookup(self, report_id: str):
        return SimpleNamespace(record=self.record, recovering=False)

    async def behind(self) -> bool:
        await asyncio.sleep(0)
        self.record = {"id": "r", "status": "Running"}  # applied meanwhile
        return self.answers.pop(0)


def test_a_request_applied_while_the_broker_was_asked_is_found() -> None:
    """The restart race: the lookup missed, the agent applied the re-read request during
    the end-offset query, which then says "caught up": the id is known, not 404."""
    found, behind = asyncio.run(_settled_lookup(Jobs([False]), "r"))
    assert found.record == {"id": "r", "status": "Running"} and not behind


def test_an_id_never_applied_stays_unknown() -> None:
    jobs = Jobs([False])
    jobs.behind = lambda: asyncio.sleep(0, result=False)  # nothing applied
    found, behind = asyncio.run(_settled_lookup(jobs, "r"))
    assert found.record is None and not behind
