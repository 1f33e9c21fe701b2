#!/usr/bin/env python3
"""Man pages generated from the help: `lifeboat --experimental-dump-help` (swift-argument-parser's
description of every command, option and its discussion) rendered as roff, one page per command:
lifeboat(1), lifeboat-backup(1), lifeboat-plan-init(1), ...

    scripts/manpages.py BINARY OUTDIR

The help text is the one source: a change to a command's --help changes its man page.
"""
import json
import os
import subprocess
import sys

DATE = "2026"  # pages carry no build date, so they are reproducible


def esc(text):
    """Escape text for roff: backslashes, and a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    # Non-ASCII (an em dash, an arrow) as groff's Unicode escapes: the pages are plain ASCII.
    text = "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)
    out = []
    for line in text.split("\n"):
        if line.startswith(".") or line.startswith("'"):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def paragraphs(text):
    """Discussion text: blank-line paragraphs; indented lines are examples (no fill)."""
    out = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        if all(l.startswith("  ") or not l.strip() for l in lines):
            out.append(".PP\n.nf\n.RS 4\n" + esc("\n".join(l[2:] if l.startswith("  ") else l for l in lines)) + "\n.RE\n.fi")
        else:
            out.append(".PP\n" + esc(" ".join(l.strip() for l in lines)))
    return "\n".join(out)


def option_names(arg):
    names = []
    for n in arg.get("names", []):
        names.append(("\\-" if n["kind"] == "short" else "\\-\\-") + esc(n["name"]))
    return ", ".join("\\fB" + n + "\\fR" for n in names)


def page(command, path):
    name = "-".join(path)
    title = name.upper()
    lines = [f'.TH "{title}" "1" "{DATE}" "Lifeboat" "Lifeboat Manual"', ".SH NAME", f"{esc(name)} \\- {esc(command.get('abstract', ''))}"]
    args = [a for a in command.get("arguments", []) if a.get("shouldDisplay", True)]
    synopsis = "\\fB" + esc(" ".join(path)) + "\\fR"
    if command.get("subcommands"):
        synopsis += " \\fISUBCOMMAND\\fR"
    for a in args:
        if a["kind"] == "positional":
            v = "\\fI" + esc(a.get("valueName", "arg")).upper() + "\\fR" + (" ..." if a.get("isRepeating") else "")
            synopsis += " " + (f"[{v}]" if a.get("isOptional") else v)
    if any(a["kind"] != "positional" for a in args):
        synopsis += " [\\fIOPTIONS\\fR]"
    lines += [".SH SYNOPSIS", synopsis]
    if command.get("discussion"):
        lines += [".SH DESCRIPTION", paragraphs(command["discussion"])]
    positional = [a for a in args if a["kind"] == "positional"]
    if positional:
        lines.append(".SH ARGUMENTS")
        for a in positional:
            lines += [".TP", "\\fI" + esc(a.get("valueName", "arg")).upper() + "\\fR", esc(a.get("abstract", ""))]
            if a.get("discussion"):
                lines.append(paragraphs(a["discussion"]).replace(".PP\n", "", 1))
    options = [a for a in args if a["kind"] != "positional"]
    if options:
        lines.append(".SH OPTIONS")
        for a in options:
            head = option_names(a)
            if a["kind"] == "option":
                head += " \\fI" + esc(a.get("valueName", "value")) + "\\fR"
            text = esc(a.get("abstract", ""))
            if a.get("defaultValue") not in (None, ""):
                text += " (default: " + esc(str(a["defaultValue"])) + ")"
            lines += [".TP", head, text]
            if a.get("discussion"):
                lines.append(esc(a["discussion"]))
    subs = [s for s in command.get("subcommands", []) if s.get("shouldDisplay", True) and s["commandName"] != "help"]
    if subs:
        lines.append(".SH COMMANDS")
        for s in subs:
            sub_name = "-".join(path + [s["commandName"]])
            lines += [".TP", f"\\fB{esc(s['commandName'])}\\fR", esc(s.get("abstract", "")) + f" See \\fB{esc(sub_name)}\\fR(1)."]
    lines += [".SH EXIT STATUS",
              "0 ok; 1 error; 3 backup saved but some sources unreadable; 10 no repository; 11 lock failed; "
              "12 wrong password; 130 interrupted.",
              ".SH SEE ALSO",
              ", ".join(f"\\fB{esc(p)}\\fR(1)" for p in (["lifeboat"] if len(path) > 1 else [])) or "\\fBlifeboat\\-backup\\fR(1), \\fBlifeboat\\-plan\\fR(1)"]
    return "\n".join(lines) + "\n"


def walk(command, path, outdir, written):
    name = "-".join(path)
    with open(os.path.join(outdir, name + ".1"), "w", encoding="utf-8") as f:
        f.write(page(command, path))
    written.append(name + ".1")
    for s in command.get("subcommands", []):
        if s["commandName"] != "help" and s.get("shouldDisplay", True):
            walk(s, path + [s["commandName"]], outdir, written)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: scripts/manpages.py BINARY OUTDIR")
    binary, outdir = sys.argv[1], sys.argv[2]
    dump = subprocess.run([binary, "--experimental-dump-help"], check=True, capture_output=True, text=True).stdout
    root = json.loads(dump)["command"]
    os.makedirs(outdir, exist_ok=True)
    written = []
    walk(root, [root["commandName"]], outdir, written)
    print(f"{len(written)} man pages in {outdir}")


if __name__ == "__main__":
    main()
