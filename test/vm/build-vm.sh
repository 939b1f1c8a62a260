#!/bin/sh
# Builds a tiny Linux VM for the real-VM integration test: Debian 12's kernel and a busybox
# initramfs that loads virtio-net, runs DHCP, pings a peer by name and powers off.
#
#   test/vm/build-vm.sh OUTDIR     -> OUTDIR/vmlinuz, OUTDIR/initramfs.cpio.gz
#
# Idempotent: packages are installed only when missing, the kernel .deb is cached in
# $SWITCHYARD_VM_CACHE (default /var/cache/switchyard-test-vm) and the outputs are rebuilt only
# when this script or the kernel changed. Needs root and Debian's package archive (apt).
#
# The guest's /init reads from the kernel command line:
#   yard.peer=NAME    ping NAME (resolved through the DHCP-provided DNS server and search domain)
#   yard.linger=SECS  stay up SECS seconds after the ping before powering off (default 0)
# and prints on the serial console:
#   SWITCHYARD-LEASE <ip>, SWITCHYARD-DHCP-FAIL, SWITCHYARD-PING-OK, SWITCHYARD-PING-FAIL, SWITCHYARD-DONE
set -eu

die() { echo "build-vm.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: build-vm.sh OUTDIR"
OUT=$1
CACHE=${SWITCHYARD_VM_CACHE:-/var/cache/switchyard-test-vm}
[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, dpkg -x)"
command -v apt-get >/dev/null 2>&1 || die "needs a Debian-like system with apt-get"

# --- packages --------------------------------------------------------------------------------
missing=
for p in busybox-static cpio xz-utils qemu-system-x86; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "build-vm.sh: installing$missing" >&2
    # shellcheck disable=SC2086
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null; then
        apt-get update -q >/dev/null || die "apt-get update failed"
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null || die "apt-get install$missing failed"
    fi
fi
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing after installing busybox-static"

# --- kernel package --------------------------------------------------------------------------
resolve_kernel() {
    apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}
KPKG=$(resolve_kernel)
if [ -z "$KPKG" ]; then
    apt-get update -q >/dev/null || die "apt-get update failed"
    KPKG=$(resolve_kernel)
fi
[ -n "$KPKG" ] || die "cannot resolve the kernel package: 'apt-cache depends linux-image-amd64' names no linux-image-*-amd64"
mkdir -p "$CACHE"
DEB=$(ls "$CACHE/${KPKG}_"*_amd64.deb 2>/dev/null | head -n 1 || true)
if [ -z "$DEB" ]; then
    echo "build-vm.sh: downloading $KPKG" >&2
    # apt drops privileges to _apt for downloads; give it a directory it can write.
    TMPDL=$(mktemp -d "$CACHE/dl.XXXXXX")
    chmod 777 "$TMPDL"
    if ! (cd "$TMPDL" && apt-get download -q "$KPKG" >/dev/null 2>&1); then
        apt-get update -q >/dev/null 2>&1 || true
        (cd "$TMPDL" && apt-get download -q "$KPKG" >/dev/null) || { rm -rf "$TMPDL"; die "apt-get download $KPKG failed (is Debian's archive reachable?)"; }
    fi
    mv "$TMPDL"/*.deb "$CACHE"/
    rm -rf "$TMPDL"
    DEB=$(ls "$CACHE/${KPKG}_"*_amd64.deb | head -n 1)
fi

# --- up to date? ------------------------------------------------------------------------------
SELF_SUM=$(cksum < "$0" | cut -d" " -f1)
STAMP="$(basename "$DEB") $SELF_SUM"
if [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initramfs.cpio.gz" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$STAMP" ]; then
    exit 0
fi

# --- extract ----------------------------------------------------------------------------------
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM
dpkg -x "$DEB" "$WORK/k"
MODDIR=$(ls -d "$WORK"/k/lib/modules/*/ | head -n 1)
KVER=$(basename "$MODDIR")
[ -f "$WORK/k/boot/vmlinuz-$KVER" ] || die "no vmlinuz-$KVER in $DEB"

# Module index "name path" (names use '_' for '-', as the kernel does), built once.
find "$MODDIR" \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' \) |
    awk '{ n = $0; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n); gsub(/-/, "_", n); print n, $0 }' > "$WORK/modindex"
modfile() {
    awk -v want="$(echo "$1" | tr '-' '_')" '$1 == want { print $2; found = 1; exit } END { exit !found }' "$WORK/modindex"
}
modcat() {
    case "$1" in
        *.ko.xz) xz -dc "$1" ;;
        *.ko.zst) zstd -dc "$1" ;;
        *) cat "$1" ;;
    esac
}
# No modules.dep in the package (depmod runs at install): read each module's depends= field.
ORDER=
add_module() {
    case " $ORDER " in *" $1 "*) return 0 ;; esac
    f=$(modfile "$1") || {
        grep -q "/$1.ko\$" "$MODDIR/modules.builtin" 2>/dev/null && return 0
        die "module $1 not found in $KPKG"
    }
    deps=$(modcat "$f" | tr '\000' '\n' | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ')
    for d in $deps; do add_module "$d"; done
    case " $ORDER " in *" $1 "*) ;; *) ORDER="$ORDER $1" ;; esac
}
for m in virtio_pci virtio_net; do add_module "$m"; done

# --- initramfs --------------------------------------------------------------------------------
R=$WORK/root
mkdir -p "$R/bin" "$R/sbin" "$R/etc" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/run" "$R/lib/modules" "$R/usr/bin" "$R/usr/sbin"
cp "$BUSYBOX" "$R/bin/busybox"
for app in $("$BUSYBOX" --list); do
    [ "$app" = busybox ] || ln -s busybox "$R/bin/$app"
done
for m in $ORDER; do
    f=$(modfile "$m")
    modcat "$f" > "$R/lib/modules/$m.ko"    # decompressed: busybox insmod loads plain ELF
done
echo "$ORDER" > "$R/lib/modules/order"
printf 'hosts: files dns\n' > "$R/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' > "$R/etc/hosts"
echo 'root:x:0:0:root:/:/bin/sh' > "$R/etc/passwd"
echo 'root:x:0:' > "$R/etc/group"

cat > "$R/udhcpc.script" <<'EOF'
#!/bin/sh
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$subnet" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    { for s in $dns; do echo "nameserver $s"; done; echo "search ${search:-$domain}"; } > /etc/resolv.conf
    echo "$ip" > /tmp/lease
    ;;
esac
exit 0
EOF

cat > "$R/init" <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
peer=; linger=0
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        yard.peer=*) peer=${arg#yard.peer=} ;;
        yard.linger=*) linger=${arg#yard.linger=} ;;
    esac
done
echo "SWITCHYARD-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime)"
for m in $(cat /lib/modules/order); do
    insmod "/lib/modules/$m.ko" || echo "SWITCHYARD-INSMOD-FAIL $m"
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ip link set lo up
ip link set eth0 up
echo "SWITCHYARD-MAC $(cat /sys/class/net/eth0/address)"
if udhcpc -i eth0 -q -n -t 10 -T 1 -s /udhcpc.script && [ -s /tmp/lease ]; then
    echo "SWITCHYARD-LEASE $(cat /tmp/lease) uptime=$(cut -d' ' -f1 /proc/uptime)"
    if [ -n "$peer" ]; then
        if ping -c 3 -W 2 "$peer"; then echo "SWITCHYARD-PING-OK"; else echo "SWITCHYARD-PING-FAIL"; fi
    fi
else
    echo "SWITCHYARD-DHCP-FAIL"
fi
[ "$linger" -gt 0 ] 2>/dev/null && sleep "$linger"
echo "SWITCHYARD-DONE uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
EOF
chmod 755 "$R/init" "$R/udhcpc.script"

mkdir -p "$OUT"
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -9 > "$OUT/initramfs.cpio.gz.tmp"
cp "$WORK/k/boot/vmlinuz-$KVER" "$OUT/vmlinuz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
echo "$STAMP" > "$OUT/.stamp"
echo "build-vm.sh: built $OUT (kernel $KVER, modules:$ORDER)" >&2
