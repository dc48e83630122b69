# bash completion for tellonce: commands, their options (read from the
# program's own --help, so they never go stale), people's names after --as,
# --for, --to and --person, and cases after a command that takes one. Names
# and cases come from 'tellonce user list --json' and 'tellonce case list
# --json', which need no passphrase; a case number shows only where the
# vault shows it without one, else the case's internal id.
_tellonce_global() { # the --vault/--socket words of the line, for the lookups
    local i
    _tlo_global=()
    for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
        case ${COMP_WORDS[i]} in
        --vault | --socket) [ $((i + 1)) -lt ${#COMP_WORDS[@]} ] &&
            _tlo_global+=("${COMP_WORDS[i]}" "${COMP_WORDS[i + 1]}") ;;
        esac
    done
}
_tellonce_json_field() { # FIELD: the values of "FIELD":"..." in the JSON on stdin
    grep -o "\"$1\":\"[^\"]*\"" | sed "s/^\"$1\":\"//; s/\"\$//"
}
_tellonce() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local tlo=${COMP_WORDS[0]} cmd="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        --socket | --vault) ((i++)) ;;
        -*) ;;
        *) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done
    COMPREPLY=()
    local IFS=$'\n'
    if [ -z "$cmd" ]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W $'--help\n--version\n-V\n--socket\n--vault' -- "$cur"))
        elif [ "$prev" = --vault ] || [ "$prev" = --socket ]; then
            COMPREPLY=($(compgen -f -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$("$tlo" --help 2>/dev/null |
                sed -n '/^commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')" -- "$cur"))
        fi
        return 0
    fi
    _tellonce_global
    case $prev in
    --as | --for | --to | --person)
        COMPREPLY=($(compgen -W "$("$tlo" user list "${_tlo_global[@]}" --json 2>/dev/null |
            _tellonce_json_field person | grep -vx custodian)" -- "$cur"))
        [ "$prev" = --to ] && [ ${#COMPREPLY[@]} -eq 0 ] && return 0
        # names may hold spaces: each is one word
        local k
        for k in "${!COMPREPLY[@]}"; do COMPREPLY[k]=$(printf '%q' "${COMPREPLY[k]}"); done
        return 0 ;;
    --case)
        COMPREPLY=($(compgen -W "$(_tellonce_cases)" -- "$cur"))
        return 0 ;;
    --vault | --socket | --passphrase-file | --new-passphrase-file | --child-file | \
        --text-file | --file | -o | --json | --checkpoints | --publish)
        COMPREPLY=($(compgen -f -- "$cur"))
        return 0 ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$("$tlo" "$cmd" --help 2>/dev/null |
            grep -o -- '--[a-z][a-z-]*' | sort -u)" -- "$cur"))
        return 0
    fi
    # the word after the command (and its subcommand): a case where one is taken
    case $cmd in
    case | grant | note | sample | report | session)
        COMPREPLY=($(compgen -W "$(_tellonce_subcommands "$cmd")$IFS$(_tellonce_cases)" -- "$cur")) ;;
    record | mark | play | export)
        COMPREPLY=($(compgen -W "$(_tellonce_cases)" -- "$cur")) ;;
    user)
        COMPREPLY=($(compgen -W $'add\nlist\nrevoke\nactivate' -- "$cur")) ;;
    *)
        COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
    return 0
}
_tellonce_cases() {
    local json
    json=$("$tlo" case list "${_tlo_global[@]}" --json 2>/dev/null)
    { _tellonce_json_field case_number <<<"$json"; _tellonce_json_field case_id <<<"$json"; } | sort -u
}
_tellonce_subcommands() { # CMD: the words that follow 'tellonce CMD' in its usage
    "$tlo" "$1" --help 2>/dev/null | sed -n "s/^.*tellonce $1 \([a-z][a-z-]*\).*/\1/p" |
        grep -vx -e number -e case | sort -u
}
complete -F _tellonce tellonce
