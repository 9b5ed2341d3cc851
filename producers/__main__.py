"""`python -m producers` is `streamproc replay`."""

import sys

from streamproc.cli.replay import main

sys.exit(main())
