if [ "$1" -eq 0 ]; then
	systemctl disable --now sluiced.service >/dev/null 2>&1 || :
else
	mkdir -p /run/sluice && touch /run/sluice/keep-datapath
	systemctl stop sluiced.service >/dev/null 2>&1 || :
fi
