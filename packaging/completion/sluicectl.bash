# bash completion for sluicectl
_sluicectl() {
	local cur prev words cword
	_init_completion || return
	local commands="status validate apply confirm rollback diff rules conntrack counters"
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
	--confirm-within) COMPREPLY=($(compgen -W "30s 60s 5m" -- "$cur")); return ;;
	esac
	case $cmd in
	"") COMPREPLY=($(compgen -W "$commands --json --socket --help --version" -- "$cur")) ;;
	validate | diff) _filedir toml ;;
	apply) COMPREPLY=($(compgen -W "--confirm-within" -- "$cur")) ;;
	conntrack) COMPREPLY=($(compgen -W "--filter" -- "$cur")) ;;
	esac
}
complete -F _sluicectl sluicectl
