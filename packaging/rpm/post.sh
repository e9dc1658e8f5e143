# The L7 proxy's own user: no home, no shell, no privileges.
getent passwd sluice-proxy >/dev/null ||
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /sbin/nologin --comment "sluice L7 proxy" sluice-proxy
systemctl daemon-reload >/dev/null 2>&1 || :
if [ "$1" -eq 1 ]; then systemctl enable --now sluiced.service >/dev/null 2>&1 || :; fi
