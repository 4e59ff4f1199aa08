"""``python -m podtask`` is the ``podtask`` command."""

from podtask.cli.main import main

main()
