"""The same requests to the test API server and to a real cluster (or its recorded answers).

Each case sends raw requests through ``Api`` and reduces the answers with
``summary``. With ``PODTASK_TEST_KUBECONFIG`` set, the real cluster's answer
is the expectation; otherwise the answer recorded from a real v1.36.2
cluster is. A case naming a ``differs`` entry of
``podtask.testing.apiserver.differences`` is a known difference: it is
expected to differ and fails once it no longer does, so that entry gets
removed (``python -m podtask.testing.apiserver --differences`` lists them).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from podtask.engines.local.linux import namespaces_available
from podtask.testing.apiserver import differences

from .client import Api, normalize, status_summary, summary
from .conftest import IMAGE, NAMESPACE
from .expectations import A260, REAL, SAME

PODS = f"/api/v1/namespaces/{NAMESPACE}/pods"
NOWHERE = {"podtask.dev/differential": "no-such-node"}  # keeps a pod Pending on any cluster
RFC3339NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z ")


def sh(name: str, script: str = "true", **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": IMAGE, "command": ["sh", "-c", script], **extra}


def pod(name: str, *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 3,
            "containers": list(containers) or [sh("main")],
            **spec,
        },
    }


def create(api: Api, manifest: dict[str, Any], **query: str) -> dict[str, Any]:
    return summary(api.request("POST", PODS, {"dryRun": "All", **query}, manifest), warning=True)


def wait_for(api: Api, name: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        got = api.request("GET", f"{PODS}/{name}")
        if got.code == 200 and done(got.body):
            return dict(got.body)
        if time.monotonic() > deadline:
            raise TimeoutError(f"pod {name}: {got.code} {str(got.body)[:300]}")
        time.sleep(0.2)


def ended(p: dict[str, Any]) -> bool:
    return (p.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def start(api: Api, manifest: dict[str, Any]) -> None:
    got = api.request("POST", PODS, body=manifest)
    assert got.code in (201, 409), got.body


def remove(api: Api, *names: str) -> None:
    for name in names:
        api.request("DELETE", f"{PODS}/{name}", {"gracePeriodSeconds": "0"})


# -- fixtures in the namespace: pending pods to list, and one to conflict with -------------
LISTED = {
    "lst-a": {"app": "lst", "tier": "x"},
    "lst-b": {"app": "lst", "tier": "y"},
    "lst-c": {"app": "lst"},
    "lst-d": {"app": "lst", "tier": "x"},
}


def pending_pods(api: Api) -> None:
    if getattr(api, "pending_made", False):
        return
    for name, labels in LISTED.items():
        manifest = pod(name, nodeSelector=NOWHERE)
        manifest["metadata"]["labels"] = labels
        start(api, manifest)
    start(api, pod("dup", nodeSelector=NOWHERE))
    api.pending_made = True  # type: ignore[attr-defined]


def listing(api: Api, **query: str) -> Any:
    pending_pods(api)
    return summary(api.request("GET", PODS, {"labelSelector": "app=lst", **query}))


# -- the cases ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    id: str
    run: Callable[[Api], Any]
    expected: Any
    differs: str | None = None  # an id in differences.KNOWN
    runs_pods: bool = False  # containers really run (test server: Linux namespaces)


def _validation_cases() -> list[Case]:
    no_image = pod("inv-noimage", {"name": "main", "command": ["true"]})
    no_name = pod("x")
    del no_name["metadata"]["name"]
    bogus = pod("inv-unknown", {**sh("main"), "bogus": 1})
    bogus_spec = pod("inv-unknown")
    bogus_spec["spec"]["bogusSpec"] = 1
    limits = {"limits": {"memory": "1Mi"}, "requests": {"memory": "2Mi"}}
    wrong_ns = pod("inv-ns")
    wrong_ns["metadata"]["namespace"] = "elsewhere"
    by_id: dict[str, dict[str, Any]] = {
        "missing-image": no_image,
        "bad-name": pod("Bad_Name"),
        "name-too-long": pod(A260),
        "no-name": no_name,
        "duplicate-containers": pod("inv-dup", sh("main"), sh("main")),
        "duplicate-init-regular": pod("inv-dup2", sh("main"), initContainers=[sh("main")]),
        "missing-volume": pod(
            "inv-vol", sh("main", volumeMounts=[{"name": "nope", "mountPath": "/x"}])
        ),
        "bad-quantity": pod("inv-qty", sh("main", resources={"limits": {"cpu": "abc"}})),
        "native-sidecar": pod("ok-sidecar", initContainers=[sh("side", restartPolicy="Always")]),
        "init-on-failure": pod("inv-initrp", initContainers=[sh("i", restartPolicy="OnFailure")]),
        "regular-restart-policy": pod("inv-ctrrp", sh("main", restartPolicy="Always")),
        "pod-restart-policy": pod("inv-rp", restartPolicy="Sometimes"),
        "deadline-zero": pod("inv-ads", activeDeadlineSeconds=0),
        "container-port": pod("inv-port", sh("main", ports=[{"containerPort": 70000}])),
        "env-name-space": pod("inv-env", sh("main", env=[{"name": "A B", "value": "1"}])),
        "bad-container-name": pod("inv-cname", sh("Main_1")),
        "negative-grace": pod("inv-tgp", terminationGracePeriodSeconds=-1),
        "namespace-mismatch": wrong_ns,
        "limits-below-requests": pod("inv-lr", sh("main", resources=limits)),
    }
    no_containers = pod("inv-none")
    no_containers["spec"]["containers"] = []
    by_id["no-containers"] = no_containers
    cases = [
        Case(i, lambda api, m=m: create(api, m), SAME[i] if i in SAME else REAL[i])
        for i, m in by_id.items()
    ]
    cases += [
        Case("unknown-field-warn", lambda api: create(api, bogus), REAL["unknown-field-warn"]),
        Case(
            "unknown-field-strict",
            lambda api: create(api, bogus, fieldValidation="Strict"),
            REAL["unknown-field-strict"],
        ),
        Case(
            "unknown-field-ignore",
            lambda api: create(api, bogus, fieldValidation="Ignore"),
            SAME["unknown-field-ignore"],
        ),
        Case(
            "unknown-spec-field-strict",
            lambda api: create(api, bogus_spec, fieldValidation="Strict"),
            REAL["unknown-spec-field-strict"],
        ),
        Case(
            "command-is-a-string",
            lambda api: create(api, pod("inv-type", {**sh("main"), "command": "sleep 1"})),
            {
                "Warning": None,
                "code": 400,
                "message": 'Pod in version "v1" cannot be handled as a Pod: json: cannot'
                " unmarshal string into Go struct field Container.spec.containers.command of"
                " type []string",
                "reason": "BadRequest",
                "status": "Failure",
            },
        ),
        Case(
            "kind-mismatch",
            lambda api: create(api, {**pod("inv-kind"), "kind": "Service"}),
            {
                "Warning": None,
                "code": 400,
                "message": 'Service in version "v1" cannot be handled as a Pod: converting'
                " (v1.Service) to (core.Pod): unknown conversion",
                "reason": "BadRequest",
                "status": "Failure",
            },
        ),
    ]
    return cases


def _rest_cases() -> list[Case]:
    zero_uid = "00000000-0000-0000-0000-000000000000"

    def conflict(api: Api) -> Any:
        pending_pods(api)
        return summary(api.request("POST", PODS, body=pod("dup", nodeSelector=NOWHERE)))

    def wrong_uid(api: Api) -> Any:
        pending_pods(api)
        body = {"preconditions": {"uid": zero_uid}}
        return summary(api.request("DELETE", f"{PODS}/dup", body=body))

    def get_status(api: Api) -> Any:
        pending_pods(api)
        return summary(api.request("GET", f"{PODS}/dup/status"))

    def discovery(api: Api) -> Any:
        body = api.request("GET", "/api/v1").body
        return sorted(r["name"] for r in body["resources"] if r["name"].startswith("pods/"))

    return [
        Case("already-exists", conflict, SAME["already-exists"]),
        Case(
            "get-missing",
            lambda api: summary(api.request("GET", f"{PODS}/nope")),
            SAME["get-missing"],
        ),
        Case(
            "delete-missing",
            lambda api: summary(api.request("DELETE", f"{PODS}/nope")),
            SAME["delete-missing"],
        ),
        Case(
            "get-missing-namespace",
            lambda api: summary(api.request("GET", "/api/v1/namespaces/nons/pods/nope")),
            SAME["get-missing-namespace"],
        ),
        Case(
            "list-missing-namespace",
            lambda api: summary(api.request("GET", "/api/v1/namespaces/nons/pods")),
            REAL["list-missing-namespace"],
        ),
        Case(
            "log-missing",
            lambda api: summary(api.request("GET", f"{PODS}/nope/log")),
            SAME["log-missing"],
        ),
        Case("get-status", get_status, SAME["get-status"]),
        Case("delete-wrong-uid", wrong_uid, REAL["delete-wrong-uid"]),
        Case(
            "unknown-subresource",
            lambda api: summary(api.request("GET", f"{PODS}/nope/bogus")),
            SAME["unknown-subresource"],
        ),
        Case(
            "discovery-subresources",
            discovery,
            [
                "pods/attach",
                "pods/binding",
                "pods/ephemeralcontainers",
                "pods/eviction",
                "pods/exec",
                "pods/log",
                "pods/portforward",
                "pods/proxy",
                "pods/resize",
                "pods/status",
            ],
            differs="discovery-subresources",
        ),
    ]


def _list_cases() -> list[Case]:
    def page(api: Api, token: str | None) -> Any:
        query = {"limit": "2", **({"continue": token} if token else {})}
        return api.request("GET", PODS, {"labelSelector": "app=lst", **query})

    def pagination(api: Api) -> Any:
        pending_pods(api)
        first = page(api, None)
        second = page(api, first.body["metadata"]["continue"])
        return [summary(first), summary(second)]

    def table_row(api: Api) -> Any:
        pending_pods(api)
        accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
        got = api.request("GET", PODS, {"fieldSelector": "metadata.name=lst-a"}, headers=accept)
        return got.body["rows"][0]["cells"][:4]

    def table_columns(api: Api) -> Any:
        accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
        got = api.request("GET", PODS, {"limit": "1"}, headers=accept)
        return [c["name"] for c in got.body["columnDefinitions"]]

    def future(api: Api) -> Any:
        current = int(api.request("GET", PODS).body["metadata"]["resourceVersion"])
        return summary(api.request("GET", PODS, {"resourceVersion": str(current + 10**6)}))

    selectors = {
        "list-labels-and": {"labelSelector": "app=lst,tier=x"},
        "list-labels-in": {"labelSelector": "tier in (x,y)"},
        "list-labels-absent": {"labelSelector": "app=lst,!tier"},
        "list-labels-not": {"labelSelector": "app=lst,tier!=x"},
        "list-field-name": {"fieldSelector": "metadata.name=lst-b"},
        "list-field-other-node": {"fieldSelector": "spec.nodeName=other"},
        "list-field-unsupported": {"fieldSelector": "spec.foo=bar"},
        "list-field-restart-policy": {"fieldSelector": "spec.restartPolicy=Never"},
        "list-rv-zero": {"resourceVersion": "0"},
        "list-rv-zero-not-older": {
            "resourceVersion": "0",
            "resourceVersionMatch": "NotOlderThan",
        },
    }
    cases = [Case(i, lambda api, q=q: listing(api, **q), SAME[i]) for i, q in selectors.items()]
    cases += [
        Case("list-rv-abc", lambda api: listing(api, resourceVersion="abc"), REAL["list-rv-abc"]),
        Case(
            "list-exact-without-rv",
            lambda api: listing(api, resourceVersionMatch="Exact"),
            REAL["list-exact-without-rv"],
        ),
        Case(
            "list-exact-too-old",
            lambda api: listing(api, resourceVersion="1", resourceVersionMatch="Exact"),
            REAL["list-exact-too-old"],
        ),
        Case("list-rv-future", future, REAL["list-rv-future"]),
        Case(
            "list-limit-rv-zero",
            lambda api: listing(api, limit="2", resourceVersion="0"),
            REAL["list-limit-rv-zero"],
        ),
        Case("list-pagination", pagination, REAL["list-pagination"]),
        Case("table-row", table_row, REAL["table-row"]),
        Case("table-columns", table_columns, SAME["table-columns"]),
    ]
    return cases


def _watch_cases() -> list[Case]:
    def too_old(api: Api) -> Any:
        got = api.request(
            "GET", PODS, {"watch": "true", "resourceVersion": "1", "timeoutSeconds": "2"}
        )
        events = got.body if isinstance(got.body, list) else [got.body]
        return normalize(
            {
                "code": got.code,
                "events": [[e["type"], status_summary(e["object"])] for e in events],
            }
        )

    return [Case("watch-too-old", too_old, REAL["watch-too-old"])]


def _pod_cases() -> list[Case]:
    def conditions(p: dict[str, Any], *types: str) -> dict[str, Any]:
        return {
            c["type"]: [c["status"], c.get("reason")]
            for c in p["status"].get("conditions") or []
            if c["type"] in types
        }

    def terminated(p: dict[str, Any]) -> dict[str, Any]:
        return dict(p["status"]["containerStatuses"][0]["state"]["terminated"])

    def failed_pod(api: Api) -> Any:
        start(
            api, pod("fail", sh("main", "echo out; printf 'bye\\n' > /dev/termination-log; exit 3"))
        )
        fallback = sh(
            "main", "echo from-logs; exit 1", terminationMessagePolicy="FallbackToLogsOnError"
        )
        start(api, pod("fallback", fallback))
        done = wait_for(api, "fail", ended)
        other = wait_for(api, "fallback", ended)
        remove(api, "fail", "fallback")
        return {
            "phase": done["status"]["phase"],
            "conditions": conditions(done, "ContainersReady", "Initialized", "Ready"),
            "message": terminated(done).get("message"),
            "fallback": terminated(other).get("message"),
        }

    def downward(api: Api) -> Any:
        env = [{"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]
        script = (
            "echo $NS; ls /var/run/secrets/kubernetes.io/serviceaccount/;"
            " echo KSH=${KUBERNETES_SERVICE_HOST:+set}"
        )
        start(api, pod("downward", sh("main", script, env=env)))
        wait_for(api, "downward", ended)
        lines = str(api.request("GET", f"{PODS}/downward/log").body).split("\n")
        remove(api, "downward")
        files = set(" ".join(lines[1:-2]).split())
        return {
            "ns": lines[0],
            "token-files": sorted(files & {"ca.crt", "namespace", "token"}),
            "KSH": lines[-2].split("=", 1)[1],
        }

    def life(api: Api) -> Any:
        start(api, pod("life", sh("main", "echo hi; echo bye")))
        wait_for(api, "life", ended)

        def log(**query: str) -> Any:
            got = api.request("GET", f"{PODS}/life/log", query)
            return got.body if got.code == 200 else summary(got)

        time.sleep(1.5)  # what sinceSeconds=1 filters out must be older than a second
        out = {
            "since-1": log(sinceSeconds="1"),
            "tail-1": log(tailLines="1"),
            "tail-0": log(tailLines="0"),
            "limit-4": log(limitBytes="4"),
            "tail-minus-1": log(tailLines="-1"),
            "previous": log(previous="true"),
        }
        remove(api, "life")
        return out

    def timestamps(api: Api) -> Any:
        start(api, pod("stamped", sh("main", "echo hi; echo bye")))
        wait_for(api, "stamped", ended)
        text = str(api.request("GET", f"{PODS}/stamped/log", {"timestamps": "true"}).body)
        remove(api, "stamped")
        return [bool(RFC3339NANO.match(line)) for line in text.splitlines()]

    def eviction(api: Api) -> Any:
        # PID 1 ignores SIGTERM: the delete takes the whole grace period (3 s) everywhere.
        start(api, pod("evict", sh("main", "trap '' TERM; while :; do sleep 0.1; done")))
        wait_for(api, "evict", lambda p: p["status"].get("phase") == "Running")
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "evict"}}
        answer = api.request("POST", f"{PODS}/evict/eviction", body=body)
        after = wait_for(
            api,
            "evict",
            lambda p: any(c["type"] == "DisruptionTarget" for c in p["status"]["conditions"]),
        )
        cond = next(c for c in after["status"]["conditions"] if c["type"] == "DisruptionTarget")
        missing = api.request(
            "POST", f"{PODS}/nope/eviction", body={**body, "metadata": {"name": "nope"}}
        )
        remove(api, "evict")
        return {
            "answer": {"code": answer.code, "status": answer.body.get("status")},
            "condition": [cond["status"], cond.get("reason"), cond.get("message")],
            "deleting": bool(after["metadata"].get("deletionTimestamp")),
            "missing": summary(missing),
        }

    def unschedulable(api: Api) -> Any:
        start(api, pod("unsched", nodeSelector=NOWHERE))
        p = wait_for(api, "unsched", lambda p: bool(p["status"].get("conditions")))
        remove(api, "unsched")
        cond = p["status"]["conditions"][0]
        message = str(cond.get("message", ""))
        cut = message.find("selector.")
        return {
            "phase": p["status"]["phase"],
            "conditions": [
                [c["type"], c["status"], c.get("reason")] for c in p["status"]["conditions"]
            ],
            "message": message[: cut + len("selector.")] if cut >= 0 else message,
        }

    def missing_command(api: Api) -> Any:
        seen: list[tuple[str, str]] = []

        def note(p: dict[str, Any]) -> bool:
            statuses = (p.get("status") or {}).get("containerStatuses") or [{}]
            state = statuses[0].get("state") or {}
            why = next((str((v or {}).get("reason")) for v in state.values()), "")
            seen.append((str(p["status"].get("phase")), why))
            return ended(p)

        start(api, pod("badcmd", {"name": "main", "image": IMAGE, "command": ["/nonexistent-cmd"]}))
        done = wait_for(api, "badcmd", note)
        remove(api, "badcmd")
        term = terminated(done)
        first = next((i for i, (_ph, why) in enumerate(seen) if why == "StartError"), len(seen))
        return {
            "phase": done["status"]["phase"],
            "terminated": [term.get("reason"), term.get("exitCode"), term.get("message")],
            # The runtime tries first (ContainerCreating), and the pod stays Pending a moment
            # with the StartError shown.
            "tried": [
                any(why == "ContainerCreating" for _ph, why in seen[:first]),
                ("Pending", "StartError") in seen,
            ],
        }

    def propagation(api: Api) -> Any:
        out = {}
        for policy in ("Foreground", "Orphan", "Background"):
            name = f"del-{policy.lower()}"
            start(api, pod(name, sh("main", "trap '' TERM; while :; do sleep 0.1; done")))
            running = wait_for(api, name, lambda p: p["status"].get("phase") == "Running")
            answer = api.request("DELETE", f"{PODS}/{name}", {"propagationPolicy": policy}).body
            meta = answer["metadata"]
            out[policy] = {
                "finalizers": meta.get("finalizers"),
                "grace": meta.get("deletionGracePeriodSeconds"),
                "generation": [running["metadata"].get("generation"), meta.get("generation")],
                "observed": sorted(
                    {c.get("observedGeneration") for c in running["status"]["conditions"]}
                    | {running["status"].get("observedGeneration")}
                ),
            }
            remove(api, name)
        return out

    def sidecar_sigterm(api: Api) -> Any:
        side = sh("side", "sleep 100", restartPolicy="Always")  # PID 1: a shell, no trap
        start(api, pod("sidecar-term", sh("main", "sleep 1"), initContainers=[side]))
        done = wait_for(api, "sidecar-term", ended)
        remove(api, "sidecar-term")
        term = done["status"]["initContainerStatuses"][0]["state"]["terminated"]
        return {"phase": done["status"]["phase"], "side": [term.get("reason"), term["exitCode"]]}

    return [
        Case(
            "sidecar-ignores-sigterm",
            sidecar_sigterm,
            REAL["sidecar-ignores-sigterm"],
            runs_pods=True,
        ),
        Case("delete-propagation", propagation, REAL["delete-propagation"], runs_pods=True),
        Case("missing-command", missing_command, REAL["missing-command"], runs_pods=True),
        Case("failed-pod", failed_pod, REAL["failed-pod"], runs_pods=True),
        Case("downward", downward, REAL["downward"], runs_pods=True),
        Case("log-options", life, REAL["log-options"], runs_pods=True),
        Case("log-timestamps", timestamps, [True, True], runs_pods=True),
        Case("eviction", eviction, REAL["eviction"], runs_pods=True),
        Case("unschedulable", unschedulable, REAL["unschedulable"]),
    ]


CASES = [*_validation_cases(), *_rest_cases(), *_list_cases(), *_watch_cases(), *_pod_cases()]


@pytest.fixture(scope="module", autouse=True)
def _clean_up(test_api: Api, real_api: Api | None) -> Iterator[None]:
    yield
    for api in (test_api, real_api):
        if api is not None:
            remove(api, *LISTED, "dup")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_answer_as_a_real_cluster(case: Case, test_api: Api, real_api: Api | None) -> None:
    if case.runs_pods and namespaces_available() is not None:
        pytest.skip("the test server's pods need Linux namespaces")
    got = case.run(test_api)
    expected = case.run(real_api) if real_api is not None else case.expected
    if case.differs is not None:
        known = differences.by_id(case.differs)
        if got != expected:
            pytest.xfail(f"known difference [{known.id}]: {known.test}")
        pytest.fail(
            f"[{known.id}] no longer differs: remove it from podtask.testing.apiserver"
            ".differences and the case's differs="
        )
    assert got == expected


def test_every_known_difference_is_listed_once() -> None:
    ids = [d.id for d in differences.KNOWN]
    assert len(ids) == len(set(ids))
    for case in CASES:
        if case.differs is not None:
            assert case.differs in ids, case.id
