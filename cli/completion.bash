# bash completion for mallog (installed as share/bash-completion/completions/mallog).
# Commands and options come from the program's own help (`mallog --help`, `mallog CMD --help`),
# so this file never lists them a second time. After `--` of `record`, a command line completes.
_mallog()
{
    local cur=${COMP_WORDS[COMP_CWORD]} cmd="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            -q|-v) ;;
            --) [[ $cmd == record ]] && { _command_offset $((i + 1)); return; } ;;
            -*) ;;
            *) [[ -z $cmd ]] && cmd=${COMP_WORDS[i]} ;;
        esac
    done
    if [[ -z $cmd ]]; then
        local cmds
        cmds=$("${COMP_WORDS[0]}" --help 2>/dev/null | sed -n 's/^  \([a-z]*\)  .*/\1/p')
        COMPREPLY=($(compgen -W "$cmds help --version --help -q -v" -- "$cur"))
        return
    fi
    if [[ $cur == -* ]]; then
        local opts
        opts=$("${COMP_WORDS[0]}" "$cmd" --help 2>/dev/null | grep -oE -- '(^|[ ,[])--?[a-zA-Z][a-zA-Z-]*' |
               sed 's/^[ ,[]//' | sort -u)
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _mallog mallog
