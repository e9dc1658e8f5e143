#!/usr/bin/env bash
# The packages: built by CPack from this build, lintian and rpmlint find
# no errors (the warnings are justified in docs/packaging.md), the .deb and
# the .rpm hold the same files, and the .deb installs on this machine, runs
# from its installed paths, and leaves nothing behind when purged.
#
#   package_test.sh BUILD_DIR
set -uo pipefail
build=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
work=$(mktemp -d)
cleanup_add "rm -rf $work"

if dpkg -s sluice >/dev/null 2>&1; then
	echo "package_test: sluice is installed on this machine already; not touching it" >&2
	exit 1
fi

(cd "$build" && cpack -B "$work" >"$work/cpack.log" 2>&1)
check "cpack builds the packages" test -f "$work/sluice_0.1.0-1_amd64.deb" -a -f "$work/sluice-0.1.0-1.x86_64.rpm"
deb=$work/sluice_0.1.0-1_amd64.deb
rpm=$work/sluice-0.1.0-1.x86_64.rpm

lintian_out=$(lintian "$deb" 2>&1 | grep -v "running with root privileges")
echo "$lintian_out"
check_not "lintian reports no errors" grep -q "^E:" <<<"$lintian_out"
rpmlint_out=$(rpmlint "$rpm" 2>&1)
echo "$rpmlint_out" | grep -E " [EW]: "
rpm_errors() { grep ' E: ' <<<"$rpmlint_out" | grep -v ' E: no-signature'; }
check_not "rpmlint reports no errors but the missing signature" rpm_errors

dpkg -c "$deb" | awk '$1 !~ /^d/ {print substr($6, 2)}' | sort >"$work/deb.files"
rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm" 2>/dev/null |
	awk '$1 ~ /^-/ {print $2}' | grep -v '^/usr/lib/.build-id' | sort >"$work/rpm.files"
check "the .deb and the .rpm hold the same files" diff "$work/deb.files" "$work/rpm.files"
check "the .rpm requires Fedora/RHEL package names" bash -c "rpm -qpR '$rpm' 2>/dev/null | grep -qx 'iproute'"
check "the .deb depends only on packages this Debian has" \
	bash -c "dpkg -I '$deb' | sed -n 's/^ Depends: //p' | tr ',' '\n' | sed 's/ *(.*//; s/^ *//' | xargs apt-cache show >/dev/null"

cleanup_add "dpkg -P sluice"
check "dpkg -i installs the .deb" dpkg -i "$deb"
check "/etc/sluice/sluice.toml is a conffile" bash -c "dpkg-query -W -f='\${Conffiles}' sluice | grep -q /etc/sluice/sluice.toml"
check "the installed sluiced validates the installed config" /usr/sbin/sluiced --check --config /etc/sluice/sluice.toml
check "the installed sluicectl runs" bash -c "/usr/bin/sluicectl --version | grep -q '^sluicectl 0.1.0'"
check "sluice-cni is where Debian's runtimes look" \
	bash -c "echo '{\"cniVersion\": \"1.1.0\"}' | CNI_COMMAND=VERSION /usr/lib/cni/sluice-cni | grep -q supportedVersions"
check "the L7 proxy is where sluiced looks for it" test -x /usr/libexec/sluice/sluice-proxy
check "the postinst made the proxy's user, without a shell" \
	bash -c "getent passwd sluice-proxy | grep -q ':/usr/sbin/nologin$'"
check "the man pages are installed" test -f /usr/share/man/man8/sluiced.8.gz -a -f /usr/share/man/man5/sluice.toml.5.gz
check "the unit is installed" test -f /lib/systemd/system/sluiced.service
check "the web UI is installed" test -f /usr/share/sluice/webui/index.html -a -f /usr/share/sluice/webui/js/app.js
check "dpkg -P purges it" dpkg -P sluice
for path in /usr/sbin/sluiced /usr/bin/sluicectl /etc/sluice /lib/systemd/system/sluiced.service \
	/usr/share/doc/sluice /usr/share/sluice /var/lib/sluice /sys/fs/bpf/sluice /usr/lib/cni/sluice-cni \
	/usr/libexec/sluice; do
	check "nothing of sluice remains: $path" test ! -e "$path"
done
finish
