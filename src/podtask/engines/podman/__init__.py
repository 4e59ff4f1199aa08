"""The podman engine: the rendered Pod manifest played by ``podman kube play``.

Real images, one network namespace per pod, real volumes.  ``cli`` is the only
module that runs the podman binary; ``manifest`` is the pure rewrite of the
manifest into what podman 4.3 honours; ``engine`` starts, watches and tears the
pod down the way the local engine does; ``guardian`` removes the pod if
podtask itself is killed.  Nothing here is imported until ``--engine podman``
is chosen.
"""
