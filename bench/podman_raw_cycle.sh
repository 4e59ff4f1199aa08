#!/usr/bin/env bash
# Baseline for the podman engine: the raw podman cycle of the seed pod, with no
# podtask code in the loop.
#
#   bench/podman_raw_cycle.sh [N]        (N runs, default 5; or PODTASK_BENCH_N)
#
# One cycle = `podman kube play` of the seed pod (sidecar `alpine` writes
# /data/message.txt into a shared emptyDir medium Memory and then sleeps
# forever; the primary, in localhost/podtask-python, polls for the file every
# 0.05 s and prints it) + `podman wait` on the primary + `podman kube down`.
# Prints one line per run (phase times in seconds) and then the median wall
# time of the whole cycle. Needs the images of `.ci/setup-podman.sh --images`.
#
# PODTASK_BENCH_TEARDOWN=stop-rm replaces `kube down` by `podman pod stop -t 0`
# + `podman pod rm`, which avoids kube down's occasional ~3 s pod-cgroup stall
# (see docs/notes/podman-kube-play.md).
set -euo pipefail

N=${1:-${PODTASK_BENCH_N:-5}}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [N]" >&2; exit 2; }
PY_IMAGE=${PODTASK_BENCH_PY_IMAGE:-localhost/podtask-python:latest}
TEARDOWN=${PODTASK_BENCH_TEARDOWN:-down}
[[ $TEARDOWN == down || $TEARDOWN == stop-rm ]] \
    || { echo "PODTASK_BENCH_TEARDOWN must be down or stop-rm" >&2; exit 2; }
POD=podtask-bench-seed-$$

for image in "$PY_IMAGE" localhost/alpine:latest; do
    podman image exists "$image" \
        || { echo "missing image $image: run .ci/setup-podman.sh --images" >&2; exit 1; }
done

dir=$(mktemp -d)
cleanup() {
    podman pod rm -f -t 0 "$POD" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

# The emptyDir gets a per-run name: podman 4.3 names the volume after it, and
# two pods using the same name would share (or inherit) one volume.
cat >"$dir/pod.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $POD
spec:
  restartPolicy: Never
  containers:
  - name: primary
    image: $PY_IMAGE
    command: ["python3", "-c"]
    args:
    - |
      import os, time
      while not os.path.isfile("/data/message.txt"):
          time.sleep(0.05)
      print(open("/data/message.txt").read().strip())
    volumeMounts:
    - {name: $POD-shared-data, mountPath: /data}
  - name: secondary
    image: alpine
    command: ["/bin/sh"]
    args: ["-c", "echo hi sidecar world > /data/message.txt; exec sleep infinity"]
    volumeMounts:
    - {name: $POD-shared-data, mountPath: /data}
  volumes:
  - name: $POD-shared-data
    emptyDir: {medium: Memory}
EOF

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
fail() {
    echo "run $1: $2" >&2
    cat "$dir/out" >&2
    exit 1
}

totals=()
echo "teardown: $TEARDOWN"
printf '%4s %6s %6s %6s %7s\n' run play wait down total
for ((i = 1; i <= N; i++)); do
    t0=$EPOCHREALTIME
    podman kube play "$dir/pod.yaml" >"$dir/out" 2>&1 || fail "$i" "kube play failed"
    t1=$EPOCHREALTIME
    code=$(podman wait "$POD-primary" 2>"$dir/out") || fail "$i" "podman wait failed"
    t2=$EPOCHREALTIME
    if [[ $TEARDOWN == down ]]; then
        podman kube down "$dir/pod.yaml" >"$dir/out" 2>&1 || fail "$i" "kube down failed"
    else
        { podman pod stop -t 0 "$POD" && podman pod rm "$POD"; } >"$dir/out" 2>&1 \
            || fail "$i" "pod stop/rm failed"
    fi
    t3=$EPOCHREALTIME
    [[ $code == 0 ]] || fail "$i" "primary exited $code"
    total=$(secs "$t0" "$t3")
    totals+=("$total")
    printf '%4d %6s %6s %6s %7s\n' "$i" "$(secs "$t0" "$t1")" "$(secs "$t1" "$t2")" \
        "$(secs "$t2" "$t3")" "$total"
done
printf '%s\n' "${totals[@]}" | sort -n | awk '
    { v[NR] = $1 }
    END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "median wall seconds over %d runs: %.2f (min %.2f, max %.2f)\n", NR, m, v[1], v[NR]
    }'
