"""``python -m podtask.entrypoint``."""

import sys

from podtask.entrypoint import main

sys.exit(main())
