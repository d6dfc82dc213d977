#!/usr/bin/env bash
# man.sh MALLOG OUTDIR - writes the man pages mallog.1 and mallog-<command>.1 into OUTDIR
# from the help text of the binary itself (`mallog --help`, `mallog CMD --help`), so a page never
# says something the program's own help does not. The help text goes in verbatim (.nf): its
# option columns are aligned by hand.
set -euo pipefail
mallog=$1 out=$2
version=$("$mallog" --version | sed 's/^mallog //')
mkdir -p "$out"
date=$(date -u +%Y-%m-%d ${SOURCE_DATE_EPOCH:+-d @$SOURCE_DATE_EPOCH})

# roff-safe text: backslashes doubled, a leading . or ' escaped
roff() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }

page() { # page NAME SUMMARY HELPTEXT-FILE
    local name=$1 summary=$2 help=$3 up
    up=$(tr '[:lower:]' '[:upper:]' <<< "$name")
    {
        echo ".TH $up 1 \"$date\" \"mallog $version\" \"mallog manual\""
        echo ".SH NAME"
        echo "$name \\- $(roff <<< "$summary")"
        echo ".SH SYNOPSIS"
        echo ".nf"
        sed -n '1s/^usage: //p' "$help" | roff
        echo ".fi"
        echo ".SH DESCRIPTION"
        echo ".nf"
        sed '1d' "$help" | sed '/./,$!d' | roff
        echo ".fi"
        echo ".SH EXIT STATUS"
        echo "0 success; 1 a difference (diff, check); 2 an error. \\fBmallog record\\fR returns the"
        echo "program's own status, or 2 when a process could not be recorded."
        echo ".SH SEE ALSO"
        if [[ $name == mallog ]]; then
            sed -n 's/^  \([a-z]*\)  .*/.BR mallog-\1 (1),/p' "$help" | sed '$ s/,$//'
        else
            echo ".BR mallog (1)"
        fi
    } > "$out/$name.1"
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$mallog" --help > "$tmp"
page mallog "record, replay and analyze every heap allocation of a program" "$tmp"
sed -n 's/^  \([a-z]*\)  *\(.*\)/\1 \2/p' "$tmp" > "$tmp.cmds"
while read -r cmd summary; do
    "$mallog" "$cmd" --help > "$tmp"
    page "mallog-$cmd" "$summary" "$tmp"
done < "$tmp.cmds"
rm -f "$tmp.cmds"
