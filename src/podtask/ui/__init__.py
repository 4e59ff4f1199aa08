"""podtask.ui: a browser view over the run records (``podtask ui``).

The package is imported only by ``podtask ui`` and ``podtask describe
--timeline``: this module imports nothing, so neither ``import podtask`` nor
any other command pays for it. ``lanes`` is the one place that turns a run's
records and events into a timeline (shared by the page and the terminal view);
``server`` serves the page and its data with the standard library only.
"""
