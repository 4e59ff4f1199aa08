#!/usr/bin/env bash
# Make podman usable for podtask's podman engine and tests.
#
#   .ci/setup-podman.sh [--images] [--verbose]
#
# Always: installs podman, runc and catatonit (apt-get, needs root) when
# missing (and busybox-static, debootstrap with --images), and
# checks that `podman run` works. Only when it does not, writes the settings
# this kind of machine needs (lower default ulimits; runc instead of crun) to
# /etc/containers/containers.conf.d/50-podtask-ci.conf, and checks again.
#
# --images: also builds the local test images (no container registry needed),
# reusing whatever is already up to date:
#   localhost/podtask-busybox:latest   busybox-static + applet symlinks (~2 MB)
#   localhost/alpine:latest            another name for podtask-busybox, so a
#                                      pod that says `image: alpine` runs offline
#   localhost/podtask-python-base:<k>  Debian bookworm minbase + python3 + pip
#                                      (debootstrap; rootfs tarball cached in
#                                      $PODTASK_CI_CACHE, default
#                                      /var/cache/podtask-ci)
#   localhost/podtask-python:latest    the base + podtask from this checkout and
#   localhost/podtask-python:src-<h>   its runtime dependencies; <h> hashes
#                                      pyproject.toml, README.md and src/, so a
#                                      source change rebuilds only this layer
#
# --verbose: print each step and how long it took (stderr).
# Quiet on success; on failure prints what failed and the tool's output.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${PODTASK_CI_CACHE:-/var/cache/podtask-ci}
MIRROR=${PODTASK_CI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
PY_TAG=311                       # CPython of $SUITE: wheels are fetched for it
BASE_PACKAGES=python3,python3-pip
RECIPE=3                         # bump when an image recipe below changes
ROOTFS_RECIPE=1                  # bump when the debootstrap recipe changes
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CONF=/etc/containers/containers.conf.d/50-podtask-ci.conf

BUSYBOX_IMAGE=localhost/podtask-busybox:latest
ALPINE_ALIAS=localhost/alpine:latest
PY_BASE_REPO=localhost/podtask-python-base
PY_REPO=localhost/podtask-python

images=0 verbose=0
for arg in "$@"; do
    case $arg in
        --images) images=1 ;;
        --verbose | -v) verbose=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "setup-podman: unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

WORK=$(mktemp -d /var/tmp/podtask-ci.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
LOG=$WORK/log

die() { echo "setup-podman: $*" >&2; exit 1; }
die_log() { # die_log MESSAGE: die, showing the last tool output
    echo "setup-podman: $*" >&2
    echo "---- output (last lines) ----" >&2
    tail -n 40 "$LOG" >&2
    exit 1
}
run() { # run CMD...: output to $LOG; on failure die showing it
    "$@" >"$LOG" 2>&1 || die_log "failed: $*"
}

t0=
step() { # step WHAT: start timing a step
    t0=$EPOCHREALTIME
    if ((verbose)); then printf 'setup-podman: %s ... ' "$1" >&2; fi
}
done_() { # done_ [NOTE]: end the step
    if ((verbose)); then
        awk -v a="$t0" -v b="$EPOCHREALTIME" -v n="${1:+ ($1)}" \
            'BEGIN { printf "%.1f s%s\n", b - a, n }' >&2
    fi
}

# ---------------------------------------------------------------- packages
apt_updated=0
apt_install() { # apt_install PKG...: install those not yet installed
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    [[ $(id -u) == 0 ]] || die "need root to install: ${missing[*]}"
    command -v apt-get >/dev/null || die "no apt-get; install by hand: ${missing[*]}"
    step "apt-get install ${missing[*]}"
    if ((!apt_updated)); then
        run apt-get update -q
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive run apt-get install -y -q "${missing[@]}"
    done_
}

if command -v dpkg-query >/dev/null; then
    # catatonit: the pause process of every pod's infra container
    apt_install podman runc catatonit
    ((images)) && apt_install busybox-static debootstrap
else
    command -v podman >/dev/null || die "podman is not installed (and this is not Debian)"
    ((images)) && die "--images needs Debian's busybox-static and debootstrap"
fi

# ---------------------------------------------------------- does it run?
probe() { # run /bin/true from a throwaway rootfs (no image needed)
    local root=$WORK/probe-root lib
    if [[ ! -d $root ]]; then
        mkdir -p "$root/bin" "$root/tmp"
        cp /bin/true "$root/bin/true"
        for lib in $(ldd /bin/true 2>/dev/null | grep -o '/[^ ]*'); do
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        done
    fi
    podman run --rm --network none --rootfs "$root" /bin/true >"$LOG" 2>&1
}

write_conf() { # write_conf SETTING...: our drop-in, one TOML table per kind
    mkdir -p "$(dirname "$CONF")"
    {
        echo "# Written by podtask's .ci/setup-podman.sh because podman failed without it."
        local s
        for s in "$@"; do
            case $s in
                ulimits) printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n' ;;
                runc) printf '[engine]\nruntime = "runc"\n' ;;
            esac
        done
    } >"$CONF"
}

step "check podman run"
if probe; then
    done_ "works as configured"
else
    # This machine refuses to raise rlimits (no CAP_SYS_RESOURCE) and has
    # hybrid cgroups, on which crun fails: lower the ulimits, then use runc.
    if grep -q rlimit "$LOG"; then
        write_conf ulimits
        probe || { write_conf ulimits runc; probe; } || die_log "podman run fails even with $CONF"
        done_ "needed $CONF"
    else
        write_conf ulimits runc
        probe || { rm -f "$CONF"; die_log "podman run fails (and the usual fixes did not help)"; }
        done_ "needed $CONF"
    fi
fi

((images)) || exit 0

# ----------------------------------------------------------------- images
label_of() { # label_of IMAGE: the podtask-ci.key label, empty if no image
    podman image inspect --format '{{index .Labels "podtask-ci.key"}}' "$1" 2>/dev/null || true
}
hash_of() { sha256sum | cut -c1-16; }

# busybox: one static binary and a symlink per applet
bb_key=$( { echo "busybox $RECIPE"; sha256sum </bin/busybox; } | hash_of)
step "image $BUSYBOX_IMAGE"
if [[ $(label_of "$BUSYBOX_IMAGE") == "$bb_key" ]]; then
    done_ reused
else
    root=$WORK/busybox-root
    mkdir -p "$root"/{bin,etc,tmp,root,usr/bin}
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [[ $applet == busybox || -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
    done
    ln -s ../../bin/busybox "$root/usr/bin/env"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    tar --numeric-owner --owner=0 --group=0 -C "$root" -c . >"$WORK/busybox.tar"
    run podman import -q \
        --change 'CMD ["/bin/sh"]' --change "ENV PATH=$IMAGE_PATH" \
        --change "LABEL podtask-ci.key=$bb_key" \
        "$WORK/busybox.tar" "$BUSYBOX_IMAGE"
    done_ built
fi
# `image: alpine` in a pod resolves to localhost/alpine:latest first (see
# docs/notes/podman-kube-play.md), so the seed's sidecar runs offline.
run podman tag "$BUSYBOX_IMAGE" "$ALPINE_ALIAS"

# python base: debootstrap (slow, cached as a tarball), then import
rootfs_key=$(echo "$SUITE $BASE_PACKAGES $ROOTFS_RECIPE" | hash_of)
base_key=$(echo "$rootfs_key $RECIPE" | hash_of)
PY_BASE_IMAGE=$PY_BASE_REPO:$base_key
tarball=$CACHE/rootfs-$SUITE-python-$rootfs_key.tar
step "image $PY_BASE_IMAGE"
if podman image exists "$PY_BASE_IMAGE"; then
    done_ reused
else
    if [[ ! -s $tarball ]]; then
        root=$WORK/rootfs
        run debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$root" "$MIRROR"
        # What a container never needs: apt's downloads and lists, docs, locales.
        rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/* \
            "$root"/usr/share/{doc,man,info,locale}/*
        mkdir -p "$CACHE"
        tar --numeric-owner -C "$root" -c . >"$tarball.part"
        mv "$tarball.part" "$tarball"
        rm -rf "$root"
    fi
    run podman import -q \
        --change 'CMD ["/usr/bin/python3"]' --change "ENV PATH=$IMAGE_PATH" \
        --change "LABEL podtask-ci.key=$base_key" \
        "$tarball" "$PY_BASE_IMAGE"
    done_ built
fi

# podtask layer: rebuilt when pyproject.toml, README.md or src/ change
src_key=$(
    cd "$REPO"
    {
        echo "$base_key $RECIPE"
        cat .ci/images/python/Containerfile
        find pyproject.toml README.md src -type f ! -name '*.pyc' ! -path '*/__pycache__/*' \
            -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    } | hash_of
)
PY_IMAGE_SRC=$PY_REPO:src-$src_key
step "image $PY_IMAGE_SRC"
if podman image exists "$PY_IMAGE_SRC"; then
    done_ reused
else
    # Wheels are built on the host (pip inside the image has no trust in this
    # network's CA) and installed offline: podtask itself, plus its
    # dependencies as binary wheels for the image's Python ($PY_TAG).
    ctx=$WORK/context
    mkdir -p "$ctx/wheels"
    run python3 -m pip wheel -q --no-deps -w "$ctx/wheels" "$REPO"
    # The seed's pod spec type (podtask[k8s-proto]) ships only as an sdist: build it here.
    run python3 -m pip wheel -q --no-deps -w "$ctx/wheels" 'k8s-proto>=0.0.2'
    plat=manylinux2014_$(uname -m)
    run python3 -m pip download -q -d "$ctx/wheels" --only-binary=:all: \
        --implementation cp --python-version "$PY_TAG" --abi "cp$PY_TAG" \
        --platform "$plat" --platform "manylinux_2_28_$(uname -m)" "$ctx"/wheels/podtask-*.whl \
        'protobuf<4'
    run podman build -q --squash \
        --build-arg "BASE=$PY_BASE_IMAGE" \
        --label "podtask-ci.key=$src_key" \
        -f "$REPO/.ci/images/python/Containerfile" -t "$PY_IMAGE_SRC" "$ctx"
    done_ built
fi
run podman tag "$PY_IMAGE_SRC" "$PY_REPO:latest"
# Drop our images of older sources and recipes (keeping any still in use).
for old in $(podman images --format '{{.Repository}}:{{.Tag}}'); do
    case $old in
        "$PY_IMAGE_SRC" | "$PY_BASE_IMAGE") ;;
        "$PY_REPO":src-* | "$PY_BASE_REPO":*) podman rmi "$old" >/dev/null 2>&1 || true ;;
    esac
done
for old in $(podman images -q --filter dangling=true --filter label=podtask-ci.key); do
    podman rmi "$old" >/dev/null 2>&1 || true
done

step "check $PY_REPO:latest imports podtask"
run podman run --rm --network none "$PY_REPO:latest" \
    python3 -c 'import podtask, sys; sys.stdout.write(podtask.__version__)'
done_ "podtask $(cat "$LOG")"
