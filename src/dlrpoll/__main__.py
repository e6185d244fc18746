"""``python -m dlrpoll``."""

import sys

from dlrpoll.cli import main

sys.exit(main())
