"""The dashboard of an owner: the token in the page's fragment is exchanged once for an
HttpOnly, SameSite=Strict session cookie, leaves the address bar, and the page shows that
owner's stores only (headless Chromium, as tests/browser/test_dashboard.py)."""

from __future__ import annotations

import hashlib

from tests.support.data import batch_report, generate, replay
from tests.support.worker_fixture import isolated_worker

TOKEN = "owner-dashboard-token"


def test_owner_dashboard_uses_a_session_cookie(kafka_broker, tmp_path, browser):
    data = generate(tmp_path / "data", 20, 8, 23)
    stores = [line.split(",")[0]
              for line in batch_report(data, tmp_path / "b.csv").splitlines()[1:]]
    own = stores[:7]
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    owners = tmp_path / "owners.csv"
    owners.write_text("owner_id,token_sha256,store_id\n"
                      + "".join(f"carol,{digest},{s}\n" for s in own))
    with isolated_worker(kafka_broker, tmp_path, STREAMPROC_API_TOKEN="op-token",
                         STREAMPROC_OWNERS_FILE=str(owners)) as handle:
        replay(handle.env, data)
        page = browser.new_page()
        page.goto(handle.base_url + "/#token=" + TOKEN)
        rows = "document.querySelectorAll('#worst tbody tr').length"
        page.wait_for_function(f"{rows} === {len(own)}", timeout=30_000)
        shown = {r.get_attribute("data-store") for r in page.query_selector_all("#worst tbody tr")}
        assert shown == set(own)
        assert TOKEN not in page.url
        cookies = page.context.cookies()
        assert [c["name"] for c in cookies] == ["streamproc_session"]
        assert cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
        assert TOKEN not in cookies[0]["value"]
        assert page.evaluate("document.cookie") == ""  # HttpOnly: no script reads it
        page.wait_for_function("document.getElementById('conn').classList.contains('on')",
                               timeout=20_000)
        assert TOKEN not in handle.log_path.read_text(errors="replace")
