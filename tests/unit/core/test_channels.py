"""The channels file (core/channels.py): parsed and checked, who hears about a store, and
secrets that never come back in full."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamproc.core.channels import (
    OPERATOR,
    Channels,
    mask_url,
    parse_channels,
    parse_days,
    parse_quiet,
    with_webhook,
)
from streamproc.core.records import US_PER_HOUR
from streamproc.core.timeparse import parse_timestamp

FILE = """
[operator]
urls = ["json://ops.example.com/hook"]

[owners.alice]
urls = ["mailto://alice:s3cr3t-pw@mail.example.com", "tgram://123456:ABCDEF_bot_token/987"]
timezone = "Europe/Berlin"
quiet = ["Mon-Fri 22:00-07:00"]
mute_until = "2026-12-24T08:00:00Z"
digest_daily = "08:30"
digest_weekly = "Mon 09:00"

[owners.alice.stores."9009"]
quiet = ["Sun 00:00-00:00"]

[owners.bob]
urls = ["ntfy://bob-topic"]
"""


def test_a_file_with_operator_and_owners_parses_into_audiences() -> None:
    channels = parse_channels(FILE)
    alice = channels.owners["alice"]
    assert alice.urls[1].startswith("tgram://")
    assert alice.timezone == "Europe/Berlin"
    assert alice.silence.mute_until_us == parse_timestamp("2026-12-24T08:00:00Z")
    [window] = alice.silence.quiet
    assert (sorted(window.days), window.start_us, window.end_us) == (
        [0, 1, 2, 3, 4], 22 * US_PER_HOUR, 7 * US_PER_HOUR)
    assert alice.store_silence["9009"].quiet[0].days == frozenset({6})
    assert alice.digest_daily_us == 8.5 * US_PER_HOUR
    assert alice.digest_weekly == (0, 9 * US_PER_HOUR)
    names = [a.name for a in channels.audiences("9009", ["bob", "alice", "carol"])]
    assert names == [OPERATOR, "alice", "bob"], "operator first, owners sorted, unknown skipped"
    assert [a.name for a in channels.audiences("9009", [])] == [OPERATOR]


@pytest.mark.parametrize("text, says", [
    ("[nope]\nurls=[]", "unknown section"),
    ("[owners.'bad id!']\nurls=[]", "bad owner id"),
    ("[owners.a]\nurls='json://x'", "urls must be a list"),
    ("[owners.a]\nurls=['no-scheme-here']", "url 1 is not scheme"),
    ("[owners.a]\ntimezone='Mars/Olympus'", "unknown timezone"),
    ("[owners.a]\nquiet=['weekdays 22:00-07:00']", "bad days"),
    ("[owners.a]\nquiet=['Mon 25:00-07:00']", "hour"),
    ("[owners.a]\nmute_until='tomorrow'", "mute_until"),
    ("[owners.a]\ncolour='red'", "unknown key 'colour'"),
    ("[owners.a\n", "not TOML"),
])
def test_a_bad_file_is_refused_naming_the_entry(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_channels(text)


def test_a_bad_url_is_named_masked_never_in_full() -> None:
    with pytest.raises(ValueError) as info:
        parse_channels("[owners.a]\nurls=['my-secret-token-1234']")
    assert "my-secret-token-1234" not in str(info.value)


def test_days_wrap_around_the_week() -> None:
    assert parse_days("Fri-Mon") == frozenset({4, 5, 6, 0})
    assert parse_days("Sat,Sun") == frozenset({5, 6})
    assert parse_days("daily") == frozenset(range(7))
    assert parse_quiet("daily 00:00-00:00").start_us == 0


def test_the_webhook_is_one_more_operator_url() -> None:
    channels = with_webhook(Channels(), "http://127.0.0.1:9/hook")
    assert channels.operator is not None and channels.operator.urls == ("http://127.0.0.1:9/hook",)
    both = with_webhook(parse_channels(FILE), "http://127.0.0.1:9/hook")
    assert both.operator.urls == ("json://ops.example.com/hook", "http://127.0.0.1:9/hook")
    assert with_webhook(both, "http://127.0.0.1:9/hook") == both, "not added twice"


# -- masking --------------------------------------------------------------------------------------

SECRET = st.text("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz0123456789_-", min_size=8,
                 max_size=40)
TEMPLATES = (
    "mailto://alice:{s}@mail.example.com",
    "json://user:{s}@127.0.0.1:8080/hook",
    "tgram://{s}/12345678",
    "discord://1234567/{s}",
    "slack://T1234/B5678/{s}",
    "https://hooks.example.com/services/{s}",
    "ntfy://ntfy.example.com/topic?token={s}",
    "json://127.0.0.1:8080/hook?key={s}&x=1",
    "pover://{s}@{s}",
)


@given(SECRET, st.sampled_from(TEMPLATES))
def test_a_secret_anywhere_in_a_url_never_shows_in_full(secret: str, template: str) -> None:
    shown = mask_url(template.format(s=secret))
    assert secret not in shown
    assert shown.split("://")[0] == template.split("://")[0], "the scheme stays readable"


def test_host_names_and_user_names_stay_readable() -> None:
    assert mask_url("mailto://alice:pw@mail.example.com") == "mailto://alice:***@mail.example.com"
    assert mask_url("json://127.0.0.1:8080/hook") == "json://127.0.0.1:8080/***"
    assert mask_url("not a url") == "***"
