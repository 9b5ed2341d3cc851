"""The data generator behind `streamproc generate`: a realistic synthetic data set.

The files have the real column names, order and formats, and a shape modelled on the real
January 2023 week (~144 polls per store per week, ~97 % active, ~80 % of stores with
business hours, ~2.5 % without a time zone row):

* ``store_status.csv`` (or ``.csv.gz`` with ``--gzip``), shuffled: :mod:`.polls`;
* ``menu_hours.csv``: :mod:`.hours` (~20 % of stores have no rows at all: open 24x7);
* ``timezones.csv``: ``store_id,timezone_str``, mostly US zones plus a few European and
  Asian ones (:mod:`.zones`); some stores have no row (America/Chicago);
* ``special_hours.csv``: :mod:`.special` (its own random stream).

Which stores exist and what each is like: :mod:`.stores`; malformed rows: :mod:`.bad_rows`;
names, headers and writing: :mod:`.files`; the whole set: :func:`.dataset.generate`.

``--stores N`` is the number of distinct store ids in the accepted rows of the three files,
i.e. the number of rows of the report.

``--dst``: unless ``--start`` is given, the range starts 2023-03-08 00:00 UTC, so a week
crosses the US spring-forward change of 2023-03-12 (02:00 local). The European change of
2023-03-26 01:00 UTC is crossed only with ``--days 19`` or more. Stores in Europe/London and
Europe/Berlin always exist, and in ``--dst`` mode some US stores have Saturday overnight hours
(e.g. 20:00-03:00) that span the missing hour. With ``--start``, ``--dst`` checks that the
range crosses a US (America/New_York) transition and fails otherwise.

Everything is derived from ``random.Random(seed)``: same arguments, same bytes.
"""

from streamproc.synthetic.bad_rows import split_bad_rows
from streamproc.synthetic.dataset import Dataset, generate
from streamproc.synthetic.files import (
    HOURS_FILE,
    HOURS_HEADER,
    POLLS_FILE,
    POLLS_HEADER,
    SPECIAL_FILE,
    SPECIAL_HEADER,
    TIMEZONES_FILE,
    TIMEZONES_HEADER,
    write_lines,
)
from streamproc.synthetic.options import DEFAULT_START, DST_START, GenConfig, to_us
from streamproc.synthetic.polls import MISS_RATE
from streamproc.synthetic.special import special_hours_lines
from streamproc.synthetic.stores import Store
from streamproc.synthetic.zones import crossed_transitions

__all__ = [
    "DEFAULT_START",
    "DST_START",
    "HOURS_FILE",
    "HOURS_HEADER",
    "MISS_RATE",
    "POLLS_FILE",
    "POLLS_HEADER",
    "SPECIAL_FILE",
    "SPECIAL_HEADER",
    "TIMEZONES_FILE",
    "TIMEZONES_HEADER",
    "Dataset",
    "GenConfig",
    "Store",
    "crossed_transitions",
    "generate",
    "special_hours_lines",
    "split_bad_rows",
    "to_us",
    "write_lines",
]
