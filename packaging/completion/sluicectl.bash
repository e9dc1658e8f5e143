# bash completion for sluicectl
_sluicectl() {
	local cur prev words cword
	_init_completion || return
	local commands="status validate apply confirm rollback diff rules conntrack counters interfaces endpoints cni flows history audit user token"
	local i cmd=""
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--socket) ((i++)) ;;
		-*) ;;
		*) cmd=${words[i]}; break ;;
		esac
	done
	case $prev in
	--socket) _filedir; return ;;
	--conf-dir | --bin-dir) _filedir -d; return ;;
	--confirm-within) COMPREPLY=($(compgen -W "30s 60s 5m" -- "$cur")); return ;;
	--verdict) COMPREPLY=($(compgen -W "allowed dropped rejected audit translated closed" -- "$cur")); return ;;
	esac
	case $cmd in
	"") COMPREPLY=($(compgen -W "$commands --json --socket --help --version" -- "$cur")) ;;
	validate | diff) _filedir toml ;;
	apply) COMPREPLY=($(compgen -W "--confirm-within" -- "$cur")) ;;
	conntrack) COMPREPLY=($(compgen -W "--filter" -- "$cur")) ;;
	flows) COMPREPLY=($(compgen -W "--from --to --address --port --verdict --rule --since --until --l7 --limit --follow" -- "$cur")) ;;
	audit) COMPREPLY=($(compgen -W "--limit" -- "$cur")) ;;
	cni)
		if [[ ${words[cword - 1]} == cni ]]; then
			COMPREPLY=($(compgen -W "install" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "--k3s --conf-dir --bin-dir --network" -- "$cur"))
		fi
		;;
	user | token) COMPREPLY=($(compgen -W "add remove list" -- "$cur")) ;;
	esac
}
complete -F _sluicectl sluicectl
