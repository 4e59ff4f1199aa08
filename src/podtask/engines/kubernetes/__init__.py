"""The Kubernetes engine: pods on a real cluster through the official client.

Only this package imports ``kubernetes``, and only when the engine is chosen,
so ``import podtask`` and the other engines never pay for it.  Layout:

- ``client``: loading the client, kubeconfig / in-cluster config, server version;
- ``errors``: API errors turned into podtask's error tree, with retries;
- ``adapt``: a Pod (Kubernetes JSON) to ``PodStatus`` (pure);
- ``watcher``: the one watch per process that feeds every run;
- ``logs``: each container's log followed live into the run directory;
- ``transport``: the API-only transport's contract, shared with the pod's entrypoint;
- ``api_io``, ``configmap``: the engine's side of it (ConfigMap in, termination message out);
- ``engine``: the Engine itself (create, follow, logs, outputs, delete);
- ``attach``: following and refreshing runs again after the client went away.
"""
