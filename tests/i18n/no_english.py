#!/usr/bin/env python3
"""No English left under LANG=zh_CN.UTF-8 (issue 13, docs/i18n.md).

  no_english.py help TELLONCE [CMD ...]   every command's --help (all of
                                          them without CMD), in Chinese
  no_english.py text NAME FILE            a captured output (a table, a
                                          screen), named NAME in failures

A line fails when, after the words that stay English by design are taken
out (option names, placeholders in capitals, command and subcommand names,
values one types, file names, quoted commands), three English words or more
are still left in a row: that is a sentence nobody translated. Exit 0 when
nothing fails, 1 with every failing line on stderr.
"""
import os
import re
import subprocess
import sys

# Words a person types or reads as they are, in any language.
KEEP = set("""
tellonce init user roles settings passwd case record preview mark session note
grant play export verify recover stop devices sample log report checkpoint
prove object login logout custodian run add list revoke show set open get
amend register transfer receive dispose activate seal inspect attach
view side by pip cam swab blood urine hair clothing other exam photo psych
legal aid assessment followup recording interrupted ended failed recovered
yes no json csv html pdf png mp4 sha256sum sha256 utc gst gstreamer ffmpeg
sqlite chromium tmux xvfb ed25519 rfc c2sp systemd journalctl sudo root
admin interviewer prosecutor medical auditor psychologist social worker
timezone default room zh cn en us asia shanghai x11 wayland ok q ctrl
inclusion consistency proof headless watermark layout publish
""".split())

# Subcommands with a --help of their own, checked with the commands.
SUBCOMMANDS = """user add|user list|user revoke|user activate|case open|case list|case show|
note add|note amend|note list|note show|note get|grant list|grant revoke|sample register|
sample transfer|sample receive|sample dispose|sample list|sample show|settings show|
settings set|session list|object seal|object open|object inspect|custodian run""".replace(
    "\n", "").split("|")

WORD = re.compile(r"^[A-Za-z]+$")


def prose_runs(line):
    """The runs of 3+ English words left in line once KEEP is taken out."""
    line = re.sub(r"'[^']*'|`[^`]*`|\"[^\"]*\"", " ", line)  # quoted commands
    runs, run = [], []
    for tok in line.split():
        bare = tok.strip(",.;:()[]!?…，。；：（）")
        english = (
            WORD.match(bare)
            and not re.match(r"^[A-Z][A-Z0-9_]+$", bare)  # NAME, CASE
            and bare.lower() not in KEEP
            and len(bare) > 1
        )
        if english and not tok.startswith("-") and "/" not in tok and "=" not in tok:
            run.append(bare)
        else:
            if len(run) >= 3:
                runs.append(" ".join(run))
            run = []
    if len(run) >= 3:
        runs.append(" ".join(run))
    return runs


def check_text(name, text):
    bad = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        # a usage line names the command as typed
        if re.match(r"^(usage:|用法[:：])?\s*tellonce\b", s) or s.startswith("tellonce "):
            continue
        for r in prose_runs(line):
            bad.append(f"{name}:{n}: English left: \"{r}\" in: {line.strip()}")
    return bad


def commands(tlo, env):
    out = subprocess.run([tlo, "--help"], env=env, capture_output=True, text=True).stdout
    names, inside = [], False
    for line in out.splitlines():
        if re.match(r"^\S.*[:：]\s*$", line) and not line.startswith(" "):
            inside = bool(names) is False and ("command" in line or "命令" in line)
            continue
        m = re.match(r"^  ([a-z][a-z-]+)\s", line)
        if inside and m:
            names.append(m.group(1))
    return names


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "help":
        tlo, only = sys.argv[2], sys.argv[3:]
        env = dict(os.environ, LANG="zh_CN.UTF-8", LC_ALL="", LANGUAGE="")
        env.pop("LC_ALL")
        cmds = only or commands(tlo, env) + SUBCOMMANDS
        if not only and len(cmds) < 20:
            print(f"no_english: 'tellonce --help' lists {len(cmds)} commands, expected 20+",
                  file=sys.stderr)
            return 1
        bad = check_text("tellonce --help",
                         subprocess.run([tlo, "--help"], env=env, capture_output=True,
                                        text=True).stdout) if not only else []
        for c in cmds:
            p = subprocess.run([tlo] + c.split() + ["--help"], env=env, capture_output=True,
                               text=True)
            text = p.stdout + p.stderr
            if not re.search(r"[\u4e00-\u9fff]", text):
                bad.append(f"tellonce {c} --help: no Chinese at all")
            bad += check_text(f"tellonce {c} --help", text)
    elif len(sys.argv) == 4 and sys.argv[1] == "text":
        with open(sys.argv[3], encoding="utf-8", errors="replace") as f:
            bad = check_text(sys.argv[2], f.read())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for b in bad:
        print(b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
