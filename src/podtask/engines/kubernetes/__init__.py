"""The Kubernetes engine: pods on a real cluster through the official client.

Only this package imports ``kubernetes``, and only when the engine is chosen,
so ``import podtask`` and the other engines never pay for it.  Layout:

- ``client``: loading the client, kubeconfig / in-cluster config, server version;
- ``errors``: API errors turned into podtask's error tree, with retries;
- ``adapt``: a Pod (Kubernetes JSON) to ``PodStatus`` (pure);
- ``watcher``: the one watch per process that feeds every run;
- ``engine``: the Engine itself (create, follow, logs, outputs, delete);
- ``attach``: following and refreshing runs again after the client went away.
"""
