#!/usr/bin/env bash
# Builds the Debian package of bmx7d with dpkg-deb: build/deb/bmx7d_<version>_<arch>.deb.
#
#   /usr/bin/bmx7d, /usr/bin/bmx7ctl          one bundled JavaScript file each (tools/bundle.mjs)
#   /usr/lib/bmx7d/koffi.cjs, koffi.node      koffi, the FFI library, and its native module
#   /usr/share/man/man8/bmx7d.8.gz, bmx7ctl.8.gz, /usr/share/bash-completion/completions/bmx7ctl
#                                             generated from the option table (tools/man.mjs)
#   /usr/lib/systemd/system/bmx7d.service     the hardened unit (infra/deb/bmx7d.service)
#   /etc/bmx7d/bmx7d.conf                     the conffile (infra/deb/bmx7d.conf)
#   /usr/share/doc/bmx7d/                     copyright (DEP-5), changelog.gz, README.Debian
#
# Version: apps/bmx7d/package.json (changesets bump it); architecture: dpkg's. Depends: nodejs and
# what dpkg-shlibdeps finds for koffi.node. Maintainer: $BMX7D_DEB_MAINTAINER, else the author of
# the checkout's last commit. Timestamps: $SOURCE_DATE_EPOCH, else the last commit's time, so the
# same checkout builds the same package. `pnpm build && pnpm package:deb`; lintian checks it:
#   lintian --fail-on error build/deb/bmx7d_*.deb
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/infra/deb
OUT=$ROOT/build/deb

die() {
  echo "package:deb: $*" >&2
  exit 1
}
for tool in dpkg-deb dpkg-shlibdeps gzip node; do
  command -v "$tool" >/dev/null || die "$tool is missing (./infra/setup.sh installs dpkg-dev)"
done
[ -f tools/bundle.mjs ] || die "tools/bundle.mjs is missing"
[ -f tools/man.mjs ] || die "tools/man.mjs is missing"
# the man pages come from the built option tables
for f in apps/bmx7d/dist/main.js apps/bmx7ctl/dist/main.js; do
  [ -f "$f" ] || die "build first: pnpm build ($f is missing)"
done

VERSION=$(node -p 'require("./apps/bmx7d/package.json").version')
ARCH=$(dpkg --print-architecture)
EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
MAINTAINER=${BMX7D_DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2>/dev/null || true)}
[ -n "$MAINTAINER" ] || die "no maintainer: set BMX7D_DEB_MAINTAINER='Name <address>'"
DEB=$OUT/bmx7d_${VERSION}_${ARCH}.deb

mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PKG=$WORK/pkg

# ---------------------------------------------------------------- programs, man pages, completion
export SOURCE_DATE_EPOCH=$EPOCH
node tools/bundle.mjs --out "$WORK/bundle" >/dev/null
node tools/man.mjs "$WORK/man" >/dev/null
for f in usr/bin/bmx7d usr/bin/bmx7ctl usr/lib/bmx7d/koffi.cjs usr/lib/bmx7d/koffi.node; do
  [ -f "$WORK/bundle/$f" ] || die "tools/bundle.mjs made no $f"
done
for f in bmx7d.8 bmx7ctl.8 bmx7ctl.bash-completion; do
  [ -f "$WORK/man/$f" ] || die "tools/man.mjs made no $f"
done
install -d "$PKG/usr/bin" "$PKG/usr/lib/bmx7d" "$PKG/usr/share/man/man8" \
  "$PKG/usr/share/bash-completion/completions" "$PKG/usr/lib/systemd/system" "$PKG/etc/bmx7d" \
  "$PKG/usr/share/doc/bmx7d" "$PKG/usr/share/lintian/overrides" "$PKG/DEBIAN"
install -m 0755 "$WORK/bundle/usr/bin/bmx7d" "$WORK/bundle/usr/bin/bmx7ctl" "$PKG/usr/bin/"
install -m 0644 "$WORK/bundle/usr/lib/bmx7d/koffi.cjs" "$WORK/bundle/usr/lib/bmx7d/koffi.node" "$PKG/usr/lib/bmx7d/"
for page in bmx7d bmx7ctl; do
  gzip -9n <"$WORK/man/$page.8" >"$PKG/usr/share/man/man8/$page.8.gz"
done
install -m 0644 "$WORK/man/bmx7ctl.bash-completion" "$PKG/usr/share/bash-completion/completions/bmx7ctl"

# ---------------------------------------------------------------- unit, conffile, documentation
install -m 0644 "$HERE/bmx7d.service" "$PKG/usr/lib/systemd/system/bmx7d.service"
install -m 0644 "$HERE/bmx7d.conf" "$PKG/etc/bmx7d/bmx7d.conf"
install -m 0644 "$HERE/copyright" "$HERE/README.Debian" "$PKG/usr/share/doc/bmx7d/"
install -m 0644 "$HERE/lintian-overrides" "$PKG/usr/share/lintian/overrides/bmx7d"
node "$HERE/changelog.mjs" "$VERSION" "$MAINTAINER" "$EPOCH" | gzip -9n >"$PKG/usr/share/doc/bmx7d/changelog.gz"

# The copyright file names exactly the third-party modules in the bundle: esbuild keeps each
# module's path in a comment ("// node_modules/.pnpm/…/node_modules/@noble/hashes/utils.js").
# (koffi's vendored headers are compiled into koffi.node and named under koffi.)
bundled=$(grep -ohE '^// .*node_modules/(@[^/]+/)?[^/@.][^/]*/' "$PKG/usr/bin/bmx7d" "$PKG/usr/bin/bmx7ctl" \
  "$PKG/usr/lib/bmx7d/koffi.cjs" | sed -E 's#.*node_modules/((@[^/]+/)?[^/]+)/$#\1#' | sort -u)
listed=$(sed -nE 's#^Files: node_modules/((@[^/]+/)?[^/]+)/\*$#\1#p' "$HERE/copyright" | sort -u)
[ "$bundled" = "$listed" ] || die "infra/deb/copyright lists other modules than the bundle holds:
$(diff <(echo "$listed") <(echo "$bundled") | sed -n 's/^</  listed, not bundled:/p; s/^>/  bundled, not listed:/p')"

# ---------------------------------------------------------------- DEBIAN/
# dpkg-shlibdeps wants a debian/control beside it; koffi.node needs libc, libgcc and libstdc++
mkdir -p "$WORK/shlibs/debian"
printf 'Source: bmx7d\n\nPackage: bmx7d\nArchitecture: any\n' >"$WORK/shlibs/debian/control"
shlibs=$(cd "$WORK/shlibs" && dpkg-shlibdeps -O "$PKG/usr/lib/bmx7d/koffi.node" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no dependencies for koffi.node"

# Installed-Size as dpkg-gencontrol counts it: KiB per file, rounded up, and 1 per directory
installed_size=$(find "$PKG" -path "$PKG/DEBIAN" -prune -o -mindepth 1 -printf '%y %s\n' |
  awk '$1 == "f" { n += int(($2 + 1023) / 1024) } $1 != "f" { n += 1 } END { print n }')

cat >"$PKG/DEBIAN/control" <<EOF
Package: bmx7d
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $installed_size
Depends: nodejs (>= 20.19), $shlibs
Recommends: wireguard-go, wireguard-tools
Section: net
Priority: optional
Description: BMX7 mesh routing daemon with WireGuard-encrypted gateway tunnels
 bmx7d is a routing daemon for BMX7 mesh networks (SEMTOR, the
 securely-entrusted routing protocol of community wireless networks), written
 in TypeScript. It speaks the wire protocol of the reference bmx7
 (compatibility version 21), so bmx7d and bmx7 nodes form one mesh, verify
 each other's signed descriptions and route to each other; trust settings
 choose the nodes routed through.
 .
 It has the reference's gateway tunnels (IPv4 and IPv6 in IPv6) and can carry
 them in WireGuard (the kernel's, or wireguard-go where the kernel has none),
 with keys announced in each node's signed description and post-quantum
 pre-shared keys agreed over the mesh.
 .
 This package holds the daemon bmx7d, the control tool bmx7ctl (which also
 dissects captured BMX7 traffic) and a hardened systemd service, installed
 disabled: name the interfaces in /etc/bmx7d/bmx7d.conf, then enable it.
EOF
echo /etc/bmx7d/bmx7d.conf >"$PKG/DEBIAN/conffiles"
install -m 0755 "$HERE/DEBIAN/postinst" "$HERE/DEBIAN/prerm" "$HERE/DEBIAN/postrm" "$PKG/DEBIAN/"
# md5sums of everything but the conffile (dpkg keeps the conffile's own)
(cd "$PKG" && find usr -type f | LC_ALL=C sort | xargs md5sum) >"$PKG/DEBIAN/md5sums"
chmod 0644 "$PKG/DEBIAN/control" "$PKG/DEBIAN/conffiles" "$PKG/DEBIAN/md5sums"

# ---------------------------------------------------------------- the package
find "$PKG" -type d -exec chmod 0755 {} +
find "$PKG" -exec touch -h -d "@$EPOCH" {} +
rm -f "$OUT"/bmx7d_*.deb
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
