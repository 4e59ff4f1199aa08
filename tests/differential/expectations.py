"""What the real v1.36.2 cluster answered, taken from the differential record.

``SAME`` holds the answers both servers already gave alike (copied from the
record's ``[SAME]`` lines); ``REAL`` the real side of the ``[DIFF]`` blocks
that the test server has since been taught. Both in the record's summary
shape (see ``client.summary``), with uids, times and resourceVersions
replaced by placeholders.
"""

from __future__ import annotations

from typing import Any

SAME: dict[str, Any] = {
    "already-exists": {
        "code": 409,
        "details": {"kind": "pods", "name": "dup"},
        "message": 'pods "dup" already exists',
        "reason": "AlreadyExists",
        "status": "Failure",
    },
    "bad-container-name": {
        "Warning": None,
        "code": 422,
        "details": {
            "causes": [
                {
                    "field": "spec.containers[0].name",
                    "message": 'Invalid value: "Main_1": a '
                    "lowercase RFC 1123 label must "
                    "consist of lower case alphanumeric "
                    "characters or '-', and must start "
                    "and end with an alphanumeric "
                    "character (e.g. 'my-name',  or "
                    "'123-abc', regex used for "
                    "validation is "
                    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                    "reason": "FieldValueInvalid",
                }
            ],
            "kind": "Pod",
            "name": "inv-cname",
        },
        "message": 'Pod "inv-cname" is invalid: spec.containers[0].name: '
        'Invalid value: "Main_1": a lowercase RFC 1123 label must '
        "consist of lower case alphanumeric characters or '-', and "
        "must start and end with an alphanumeric character (e.g. "
        "'my-name',  or '123-abc', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        "reason": "Invalid",
        "status": "Failure",
    },
    "bad-name": {
        "Warning": None,
        "code": 422,
        "details": {
            "causes": [
                {
                    "field": "metadata.name",
                    "message": 'Invalid value: "Bad_Name": a lowercase RFC '
                    "1123 subdomain must consist of lower case "
                    "alphanumeric characters, '-' or '.', and "
                    "must start and end with an alphanumeric "
                    "character (e.g. 'example.com', regex used "
                    "for validation is "
                    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                    "reason": "FieldValueInvalid",
                }
            ],
            "kind": "Pod",
            "name": "Bad_Name",
        },
        "message": 'Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
        "a lowercase RFC 1123 subdomain must consist of lower case "
        "alphanumeric characters, '-' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'example.com', regex used for "
        "validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        "reason": "Invalid",
        "status": "Failure",
    },
    "deadline-zero": {
        "Warning": None,
        "code": 422,
        "details": {
            "causes": [
                {
                    "field": "spec.activeDeadlineSeconds",
                    "message": "Invalid value: 0: must be between 1 and 2147483647, inclusive",
                    "reason": "FieldValueInvalid",
                }
            ],
            "kind": "Pod",
            "name": "inv-ads",
        },
        "message": 'Pod "inv-ads" is invalid: spec.activeDeadlineSeconds: Invalid '
        "value: 0: must be between 1 and 2147483647, inclusive",
        "reason": "Invalid",
        "status": "Failure",
    },
    "delete-missing": {
        "code": 404,
        "details": {"kind": "pods", "name": "nope"},
        "message": 'pods "nope" not found',
        "reason": "NotFound",
        "status": "Failure",
    },
    "duplicate-containers": {
        "Warning": None,
        "code": 422,
        "details": {
            "causes": [
                {
                    "field": "spec.containers[1].name",
                    "message": 'Duplicate value: "main"',
                    "reason": "FieldValueDuplicate",
                }
            ],
            "kind": "Pod",
            "name": "inv-dup",
        },
        "message": 'Pod "inv-dup" is invalid: spec.containers[1].name: Duplicate value: "main"',
        "reason": "Invalid",
        "status": "Failure",
    },
    "env-name-space": {"Warning": None, "code": 201, "kind": "Pod", "name": "inv-env"},
    "get-missing": {
        "code": 404,
        "details": {"kind": "pods", "name": "nope"},
        "message": 'pods "nope" not found',
        "reason": "NotFound",
        "status": "Failure",
    },
    "get-missing-namespace": {
        "code": 404,
        "details": {"kind": "pods", "name": "nope"},
        "message": 'pods "nope" not found',
        "reason": "NotFound",
        "status": "Failure",
    },
    "get-status": {"code": 200, "kind": "Pod", "name": "dup"},
    "list-field-name": {"code": 200, "metadata": {"resourceVersion": "<rv>"}, "names": ["lst-b"]},
    "list-field-other-node": {"code": 200, "metadata": {"resourceVersion": "<rv>"}, "names": []},
    "list-field-restart-policy": {
        "code": 200,
        "metadata": {"resourceVersion": "<rv>"},
        "names": ["lst-a", "lst-b", "lst-c", "lst-d"],
    },
    "list-field-unsupported": {
        "code": 400,
        "message": "field label not supported: spec.foo",
        "reason": "BadRequest",
        "status": "Failure",
    },
    "list-labels-absent": {
        "code": 200,
        "metadata": {"resourceVersion": "<rv>"},
        "names": ["lst-c"],
    },
    "list-labels-and": {
        "code": 200,
        "metadata": {"resourceVersion": "<rv>"},
        "names": ["lst-a", "lst-d"],
    },
    "list-labels-in": {
        "code": 200,
        "metadata": {"resourceVersion": "<rv>"},
        "names": ["lst-a", "lst-b", "lst-d"],
    },
    "list-labels-not": {
        "code": 200,
        "metadata": {"resourceVersion": "<rv>"},
        "names": ["lst-b", "lst-c"],
    },
    "list-rv-zero": {
        "code": 200,
        "metadata": {"resourceVersion": "<rv>"},
        "names": ["lst-a", "lst-b", "lst-c", "lst-d"],
    },
    "list-rv-zero-not-older": {
        "code": 200,
        "metadata": {"resourceVersion": "<rv>"},
        "names": ["lst-a", "lst-b", "lst-c", "lst-d"],
    },
    "log-missing": {
        "code": 404,
        "details": {"kind": "pods", "name": "nope"},
        "message": 'pods "nope" not found',
        "reason": "NotFound",
        "status": "Failure",
    },
    "missing-image": {
        "Warning": None,
        "code": 422,
        "details": {
            "causes": [
                {
                    "field": "spec.containers[0].image",
                    "message": "Required value",
                    "reason": "FieldValueRequired",
                }
            ],
            "kind": "Pod",
            "name": "inv-noimage",
        },
        "message": 'Pod "inv-noimage" is invalid: spec.containers[0].image: Required value',
        "reason": "Invalid",
        "status": "Failure",
    },
    "namespace-mismatch": {
        "Warning": None,
        "code": 400,
        "message": "the namespace of the provided object does not match the "
        "namespace sent on the request",
        "reason": "BadRequest",
        "status": "Failure",
    },
    "native-sidecar": {"Warning": None, "code": 201, "kind": "Pod", "name": "ok-sidecar"},
    "negative-grace": {"Warning": None, "code": 201, "kind": "Pod", "name": "inv-tgp"},
    "no-containers": {
        "Warning": None,
        "code": 422,
        "details": {
            "causes": [
                {
                    "field": "spec.containers",
                    "message": "Required value",
                    "reason": "FieldValueRequired",
                }
            ],
            "kind": "Pod",
            "name": "inv-none",
        },
        "message": 'Pod "inv-none" is invalid: spec.containers: Required value',
        "reason": "Invalid",
        "status": "Failure",
    },
    "pod-restart-policy": {
        "Warning": None,
        "code": 422,
        "details": {
            "causes": [
                {
                    "field": "spec.restartPolicy",
                    "message": 'Unsupported value: "Sometimes": '
                    'supported values: "Always", '
                    '"OnFailure", "Never"',
                    "reason": "FieldValueNotSupported",
                }
            ],
            "kind": "Pod",
            "name": "inv-rp",
        },
        "message": 'Pod "inv-rp" is invalid: spec.restartPolicy: Unsupported '
        'value: "Sometimes": supported values: "Always", '
        '"OnFailure", "Never"',
        "reason": "Invalid",
        "status": "Failure",
    },
    "table-columns": [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
        "IP",
        "Node",
        "Nominated Node",
        "Readiness Gates",
    ],
    "unknown-field-ignore": {"Warning": None, "code": 201, "kind": "Pod", "name": "inv-unknown"},
    "unknown-subresource": {
        "code": 404,
        "message": "the server could not find the requested resource",
        "reason": "NotFound",
        "status": "Failure",
    },
}

A260 = "a" * 260
_LONG = f'Invalid value: "{A260}": must be no more than 253 characters'
_STRICT = 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field'


def _invalid(name: str, field: str, reason: str, message: str) -> dict[str, Any]:
    details: dict[str, Any] = {
        "causes": [{"field": field, "message": message, "reason": reason}],
        "kind": "Pod",
    }
    if name:
        details["name"] = name
    return {
        "Warning": None,
        "code": 422,
        "details": details,
        "message": f'Pod "{name}" is invalid: {field}: {message}',
        "reason": "Invalid",
        "status": "Failure",
    }


def _created(name: str, warning: str | None = None) -> dict[str, Any]:
    return {"Warning": warning, "code": 201, "kind": "Pod", "name": name}


def _bad(message: str) -> dict[str, Any]:
    return {
        "Warning": None,
        "code": 400,
        "message": message,
        "reason": "BadRequest",
        "status": "Failure",
    }


# The real side of the [DIFF] blocks the test server now matches.
REAL: dict[str, Any] = {
    "name-too-long": _invalid(A260, "metadata.name", "FieldValueInvalid", _LONG),
    "no-name": _invalid(
        "",
        "metadata.name",
        "FieldValueRequired",
        "Required value: name or generateName is required",
    ),
    "duplicate-init-regular": _invalid(
        "inv-dup2", "spec.initContainers[0].name", "FieldValueDuplicate", 'Duplicate value: "main"'
    ),
    "missing-volume": _invalid(
        "inv-vol",
        "spec.containers[0].volumeMounts[0].name",
        "FieldValueNotFound",
        'Not found: "nope"',
    ),
    "container-port": _invalid(
        "inv-port",
        "spec.containers[0].ports[0].containerPort",
        "FieldValueInvalid",
        "Invalid value: 70000: must be between 1 and 65535, inclusive",
    ),
    "limits-below-requests": _invalid(
        "inv-lr",
        "spec.containers[0].resources.requests",
        "FieldValueInvalid",
        'Invalid value: "2Mi": must be less than or equal to memory limit of 1Mi',
    ),
    "bad-quantity": _bad(
        'Pod in version "v1" cannot be handled as a Pod: quantities must match the regular'
        " expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    ),
    "unknown-field-warn": _created(
        "inv-unknown", '299 - "unknown field \\"spec.containers[0].bogus\\""'
    ),
    "unknown-field-strict": _bad(f'{_STRICT} "spec.containers[0].bogus"'),
    "unknown-spec-field-strict": _bad(f'{_STRICT} "spec.bogusSpec"'),
    "init-on-failure": _created("inv-initrp"),
    "regular-restart-policy": _created("inv-ctrrp"),
    "list-missing-namespace": {"code": 200, "metadata": {"resourceVersion": "<rv>"}, "names": []},
    "delete-wrong-uid": {
        "code": 409,
        "details": {"kind": "Pod", "name": "dup"},
        "message": 'Operation cannot be fulfilled on Pod "dup": the UID in the precondition (<uid>)'
        " does not match the UID in record (<uid>). The object might have been deleted and then"
        " recreated",
        "reason": "Conflict",
        "status": "Failure",
    },
    "list-rv-abc": {
        "code": 400,
        "message": 'invalid resource version: resourceVersion: Invalid value: "abc":'
        ' strconv.ParseUint: parsing "abc": invalid syntax',
        "reason": "BadRequest",
        "status": "Failure",
    },
    "list-exact-without-rv": {
        "code": 422,
        "details": {
            "causes": [
                {
                    "field": "resourceVersionMatch",
                    "message": "Forbidden: resourceVersionMatch is forbidden unless"
                    " resourceVersion is provided",
                    "reason": "FieldValueForbidden",
                }
            ],
            "group": "meta.k8s.io",
            "kind": "ListOptions",
        },
        "message": 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden:'
        " resourceVersionMatch is forbidden unless resourceVersion is provided",
        "reason": "Invalid",
        "status": "Failure",
    },
    "list-exact-too-old": {
        "code": 410,
        "message": "The resourceVersion for the provided list is too old.",
        "reason": "Expired",
        "status": "Failure",
    },
    "list-rv-future": {
        "code": 504,
        "details": {
            "causes": [
                {"message": "Too large resource version", "reason": "ResourceVersionTooLarge"}
            ],
            "retryAfterSeconds": 1,
        },
        "message": "Timeout: Too large resource version: <rv>, current: <rv>",
        "reason": "Timeout",
        "status": "Failure",
    },
    "list-limit-rv-zero": {
        "code": 200,
        "metadata": {"resourceVersion": "<rv>"},
        "names": ["lst-a", "lst-b", "lst-c", "lst-d"],
    },
    "list-pagination": [
        {
            "code": 200,
            "metadata": {
                "continue": "<continue>",
                "remainingItemCount": 2,
                "resourceVersion": "<rv>",
            },
            "names": ["lst-a", "lst-b"],
        },
        {"code": 200, "metadata": {"resourceVersion": "<rv>"}, "names": ["lst-c", "lst-d"]},
    ],
    "table-row": ["lst-a", "0/1", "Pending", "0"],
    "watch-too-old": {
        "code": 200,
        "events": [
            [
                "ERROR",
                {
                    "code": 410,
                    "message": "too old resource version: <rv> (<rv>)",
                    "reason": "Expired",
                    "status": "Failure",
                },
            ]
        ],
    },
    "eviction": {
        "answer": {"code": 201, "status": "Success"},
        "condition": ["True", "EvictionByEvictionAPI", "Eviction API: evicting"],
        "deleting": True,
        "missing": {
            "code": 404,
            "details": {"kind": "pods", "name": "nope"},
            "message": 'pods "nope" not found',
            "reason": "NotFound",
            "status": "Failure",
        },
    },
    "unschedulable": {
        "phase": "Pending",
        "conditions": [["PodScheduled", "False", "Unschedulable"]],
        "message": "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
    },
    # side-stubborn in the record: a shell PID 1 waits out the grace, then SIGKILL
    "sidecar-ignores-sigterm": {"phase": "Succeeded", "side": ["Error", 137]},
    "delete-propagation": {
        "Foreground": {
            "finalizers": ["foregroundDeletion"],
            "grace": 3,
            "generation": [1, 2],
            "observed": [1],
        },
        "Orphan": {"finalizers": ["orphan"], "grace": 3, "generation": [1, 2], "observed": [1]},
        "Background": {"finalizers": None, "grace": 3, "generation": [1, 2], "observed": [1]},
    },
    "missing-command": {
        "phase": "Failed",
        "terminated": [
            "StartError",
            128,
            "failed to create containerd task: failed to create shim task: OCI runtime create"
            " failed: runc create failed: unable to start container process: exec:"
            ' "/nonexistent-cmd": stat /nonexistent-cmd: no such file or directory: unknown',
        ],
        # Watch record: ContainerCreating to +1.9 s, StartError while Pending to +3.1 s.
        "tried": [True, True],
    },
    "failed-pod": {
        "phase": "Failed",
        "conditions": {
            "ContainersReady": ["False", "PodFailed"],
            "Initialized": ["True", None],
            "Ready": ["False", "PodFailed"],
        },
        "message": "bye\n",
        "fallback": "from-logs\n",
    },
    "downward": {"ns": "difftest", "token-files": ["ca.crt", "namespace", "token"], "KSH": "set"},
    "log-options": {
        "since-1": "",
        "tail-1": "bye\n",
        "tail-0": "",
        "limit-4": "hi\nb",
        "tail-minus-1": {
            "code": 422,
            "details": {
                "causes": [
                    {
                        "field": "tailLines",
                        "message": "Invalid value: -1: must be greater than or equal to 0",
                        "reason": "FieldValueInvalid",
                    }
                ],
                "kind": "PodLogOptions",
                "name": "life",
            },
            "message": 'PodLogOptions "life" is invalid: tailLines: Invalid value: -1: must be'
            " greater than or equal to 0",
            "reason": "Invalid",
            "status": "Failure",
        },
        "previous": {
            "code": 400,
            "message": 'previous terminated container "main" in pod "life" not found',
            "reason": "BadRequest",
            "status": "Failure",
        },
    },
}
