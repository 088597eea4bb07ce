#!/usr/bin/env bash
# install - "meson install --destdir" of this build puts every file where
# the systemd units, pkg-config and the programs expect it.
#
# Checks, against a staging directory that is removed at the end:
#   1. the programs, libhub (with its soname links), hub.h, hub.pc, the
#      units and the sample settings are installed, and nothing else of the
#      demo is;
#   2. the programs start from the staging directory (--version) and carry
#      no run path into the build directory;
#   3. every unit's ExecStart names an installed program by its final path,
#      and every settings file a unit names is installed (for a template
#      NAME@.service, the sample that its instances are copied from);
#   4. systemd-analyze verify accepts the units (when systemd-analyze is
#      there): it needs the programs at their ExecStart paths, which are
#      the final ones, so it checks copies of the units whose ExecStart
#      points into the staging directory, nothing else changed;
#   5. the staged sample settings pass the programs' own checks;
#   6. pkg-config finds hub in the staging directory (PKG_CONFIG_PATH plus
#      PKG_CONFIG_SYSROOT_DIR), and a small C program compiles with its
#      flags, links against the staged libhub and runs with it.
#
# The build passes its settings in the environment: MESON, BUILD_ROOT,
# PREFIX, BINDIR, SBINDIR, LIBDIR, INCLUDEDIR, SYSCONFDIR, UNITDIR (all
# absolute), CC (the compiler command) and SANITIZE (b_sanitize).
set -euo pipefail

fail() { printf 'test_install: %s\n' "$*" >&2; exit 1; }
note() { printf '%s\n' "$*"; }

if [[ -z ${MESON:-} ]]; then
    printf 'test_install: skipped: meson was not found when the build was set up\n'
    exit 77
fi
for var in MESON BUILD_ROOT PREFIX BINDIR SBINDIR LIBDIR INCLUDEDIR SYSCONFDIR UNITDIR CC; do
    [[ -n ${!var:-} ]] || fail "\$$var is not set (run this through meson test)"
done
SANITIZE=${SANITIZE:-none}

stage=$(mktemp -d -t switchboard-install.XXXXXX)
trap 'rm -rf -- "$stage"' EXIT

# ------------------------------------------------------------ 1. the files

# --no-rebuild: meson test has built what this test depends on; a build
# started from here could race with the one that runs the tests.
"$MESON" install -C "$BUILD_ROOT" --destdir "$stage" --no-rebuild --quiet >"$stage.log" 2>&1 ||
    { cat "$stage.log" >&2; rm -f -- "$stage.log"; fail "meson install --destdir failed"; }
rm -f -- "$stage.log"

programs=("$SBINDIR/hubd" "$BINDIR/hubctl" "$BINDIR/hub-webhook-in" "$BINDIR/hub-webhook-out" "$BINDIR/hub-mail-out"
    "$BINDIR/hub-console")
units=(hubd.service hub-webhook-in.service hub-console.service hub-webhook-out@.service hub-mail-out@.service)
settings=(hub.yaml policy.yaml webhook-in.yaml webhook-out.yaml mail-out.yaml mappings/helpdesk.yaml console.yaml
    console-users.yaml)
etc=$SYSCONFDIR/switchboard

missing=()
for f in "${programs[@]}"; do
    [[ -f $stage$f && -x $stage$f ]] || missing+=("$f (executable)")
done
for f in "$INCLUDEDIR/hub.h" "$LIBDIR/pkgconfig/hub.pc" "$LIBDIR/libhub.so" "$LIBDIR/libhub.so.0"; do
    [[ -e $stage$f ]] || missing+=("$f")
done
for u in "${units[@]}"; do
    [[ -f $stage$UNITDIR/$u ]] || missing+=("$UNITDIR/$u")
done
for f in "${settings[@]}"; do
    [[ -f $stage$etc/$f ]] || missing+=("$etc/$f")
done
((${#missing[@]} == 0)) || fail "not installed: ${missing[*]}"

# libhub.so -> libhub.so.0 -> libhub.so.0.x.y, one real file
real=$(readlink -f -- "$stage$LIBDIR/libhub.so")
[[ $real == "$stage$LIBDIR"/libhub.so.0.* && -f $real && ! -L $real ]] ||
    fail "libhub.so does not lead to libhub.so.0.x.y in $LIBDIR (it leads to ${real#"$stage"})"
[[ $(readlink -f -- "$stage$LIBDIR/libhub.so.0") == "$real" ]] || fail "libhub.so.0 is not the same library as libhub.so"
if command -v readelf >/dev/null; then
    # (whole outputs into variables: "| grep -q" would stop reading early and,
    # with pipefail, fail the pipeline through the writer's SIGPIPE)
    dynamic=$(readelf -d "$real")
    grep -q 'SONAME.*\[libhub\.so\.0\]' <<<"$dynamic" || fail "libhub's soname is not libhub.so.0"
fi
[[ ! -e $stage$BINDIR/demo-receiver ]] || fail "the demo's receiver is installed; it should not be"

# The units are rendered: no @VARIABLE@ left.
for u in "${units[@]}"; do
    if grep -n '@[A-Z_]*@' "$stage$UNITDIR/$u" >&2; then
        fail "$u: placeholders left (above)"
    fi
done
note "ok 1: programs, libhub, hub.h, hub.pc, ${#units[@]} units in $UNITDIR, ${#settings[@]} settings files in $etc"

# ------------------------------------------------------------ 2. the programs run

export LD_LIBRARY_PATH=$stage$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
for f in "${programs[@]}"; do
    out=$("$stage$f" --version 2>&1) || fail "${f##*/} --version from the staging directory failed: $out"
    [[ -n $out ]] || fail "${f##*/} --version printed nothing"
    if command -v readelf >/dev/null; then
        dynamic=$(readelf -d "$stage$f")
        runpath=$(grep -E 'R(UN)?PATH' <<<"$dynamic" || true)
        if [[ -n $runpath && $runpath == *"$BUILD_ROOT"* ]]; then
            fail "${f##*/}: its run path still points into the build directory"
        fi
    fi
done
note "ok 2: the ${#programs[@]} programs start from the staging directory (--version)"

# ------------------------------------------------------------ 3. what the units name

# exec_starts UNIT: the ExecStart= command lines of UNIT, one per line.
exec_starts() {
    sed -n 's/^ExecStart=//p' "$1"
}

for u in "${units[@]}"; do
    lines=$(exec_starts "$stage$UNITDIR/$u")
    [[ -n $lines ]] || fail "$u: no ExecStart="
    while read -r cmd args; do
        cmd=${cmd#[@+!:-]} # systemd's prefixes: @ - : + !
        found=0
        for f in "${programs[@]}"; do
            [[ $cmd == "$f" ]] && found=1
        done
        ((found)) || fail "$u: ExecStart runs $cmd, which is not one of the installed programs (${programs[*]})"
        # every settings path it passes must be installed; for a template,
        # NAME-%i.yaml is made from the sample NAME.yaml
        for arg in $args; do
            [[ $arg == "$etc"/* ]] || continue
            want=${arg//-%i/}
            [[ $want != *%* ]] || fail "$u: cannot tell which sample $arg comes from"
            [[ -f $stage$want ]] || fail "$u: ExecStart names $arg, but $want is not installed"
        done
    done <<<"$lines"
done
note "ok 3: every ExecStart runs an installed program and names installed settings"

# ------------------------------------------------------------ 4. systemd-analyze verify

if command -v systemd-analyze >/dev/null; then
    copies=$stage/verify
    mkdir -p "$copies"
    paths=()
    for u in "${units[@]}"; do
        # only ExecStart= changes: the program's path moves into the staging dir
        sed "s|^ExecStart=\([@+!:-]*\)/|ExecStart=\1$stage/|" "$stage$UNITDIR/$u" >"$copies/$u"
        paths+=("$copies/$u")
    done
    rc=0
    out=$(cd "$copies" && systemd-analyze verify --man=no "${paths[@]}" 2>&1) || rc=$?
    # Only lines about our units count: on some machines verify also speaks
    # about units it loads as dependencies.
    ours=$(grep -F -e "$copies/" -e hubd.service -e hub-webhook-in.service -e hub-console.service \
        -e hub-webhook-out@ -e hub-mail-out@ \
        <<<"$out" || true)
    if ((rc != 0)) || [[ -n $ours ]]; then
        printf '%s\n' "$out" >&2
        fail "systemd-analyze verify (exit $rc) finds fault with the units (above)"
    fi
    [[ -z $out ]] || printf 'systemd-analyze verify said, about other units:\n%s\n' "$out"
    note "ok 4: systemd-analyze verify accepts the ${#units[@]} units (ExecStart pointed into the staging directory)"
else
    note "ok 4 # skip: no systemd-analyze here"
fi

# ------------------------------------------------------------ 5. the staged settings

out=$("$stage$BINDIR/hubctl" rules check "$stage$etc/policy.yaml" 2>&1) || fail "hubctl rules check on the installed policy: $out"
out=$("$stage$BINDIR/hub-webhook-in" --config "$stage$etc/webhook-in.yaml" --check 2>&1) ||
    fail "hub-webhook-in --check on the installed settings: $out"
out=$(SWITCHBOARD_WEBHOOK_SECRET=install-check-secret-0123456789 \
    "$stage$BINDIR/hub-webhook-out" --config "$stage$etc/webhook-out.yaml" --check 2>&1) ||
    fail "hub-webhook-out --check on the installed settings: $out"
out=$("$stage$BINDIR/hub-mail-out" --config "$stage$etc/mail-out.yaml" --check 2>&1) ||
    fail "hub-mail-out --check on the installed settings: $out"
out=$("$stage$BINDIR/hub-console" --config "$stage$etc/console.yaml" --check 2>&1) ||
    fail "hub-console --check on the installed settings and users: $out"
note "ok 5: the installed policy and adapter settings pass the programs' checks"

# ------------------------------------------------------------ 6. pkg-config and a program on libhub

export PKG_CONFIG_PATH=$stage$LIBDIR/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$stage
flags=$(pkg-config --cflags --libs hub 2>&1) || fail "pkg-config --cflags --libs hub: $flags"
[[ $flags == *"-I$stage$INCLUDEDIR"* || $INCLUDEDIR == /usr/include ]] ||
    fail "pkg-config --cflags hub has no -I$stage$INCLUDEDIR: $flags"
[[ $flags == *"-L$stage$LIBDIR"* && $flags == *-lhub* ]] || fail "pkg-config --libs hub has no -L$stage$LIBDIR -lhub: $flags"
# pkg-config leaves out -I/usr/include; then hub.h is found through the sysroot
[[ $INCLUDEDIR != /usr/include ]] || flags="-I$stage/usr/include $flags"

cat >"$stage/hello.c" <<'CEOF'
#include <hub.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    const char *text = hub_strerror(-HUB_ETOOLARGE);
    if (!text || !*text || !hub_strerror(-12345))
        return 1;
    printf("hub_strerror(-HUB_ETOOLARGE): %s\n", text);
    return strcmp(text, hub_strerror(-HUB_EMALFORMED)) == 0;
}
CEOF
sanitize=()
[[ $SANITIZE == none || -z $SANITIZE ]] || sanitize=("-fsanitize=$SANITIZE")
# shellcheck disable=SC2086 # CC and the flags are command words
out=$($CC -std=c11 -Wall -Wextra -Wpedantic -Werror "${sanitize[@]}" -o "$stage/hello" "$stage/hello.c" $flags 2>&1) ||
    fail "compiling and linking against the staged libhub failed: $out"
if command -v ldd >/dev/null; then
    libs=$(ldd "$stage/hello")
    grep -qF "libhub.so.0 => $stage$LIBDIR/libhub.so.0" <<<"$libs" ||
        fail "the program does not load the staged libhub: $(grep libhub <<<"$libs")"
fi
out=$("$stage/hello" 2>&1) || fail "the program on the staged libhub failed: $out"
[[ $out == "hub_strerror(-HUB_ETOOLARGE): "?* ]] || fail "the program printed: $out"
note "ok 6: pkg-config --cflags --libs hub: $flags"
note "      a program built with it runs on the staged libhub: $out"
