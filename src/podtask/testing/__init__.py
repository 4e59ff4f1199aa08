"""podtask.testing: tools for testing tasks and engines without a cluster.

``podtask.testing.apiserver`` is a small Kubernetes API server for Pods whose
pods really run on the local engine, so the official ``kubernetes`` client and
``kubectl`` can be exercised end to end on a machine with no cluster. Nothing
is imported here, so ``import podtask.testing`` stays free.
"""
