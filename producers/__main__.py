"""`python -m producers` is `streamproc replay`."""

import sys

from producers.replay import main

sys.exit(main())
