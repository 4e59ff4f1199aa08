"""The one pod driver shared by every engine that runs containers itself.

``driver.PodDriver`` does what a kubelet does with a pod (start order, probes,
restarts, the stop order and grace) against the small ``port.Runtime``; the
local engine, the podman engine and the test API server's kubelet are its
adapters.  ``attempt`` adds podtask's end of an attempt (decide, settle).
"""
