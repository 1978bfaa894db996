"""The interop matrix as a terminal table, a self-contained HTML page (inline CSS, no network) and JSON."""
import html
import json
import os

LABELS = {"openssh9": "OpenSSH 9.2", "openssh10": "OpenSSH 10.x", "paramiko": "paramiko", "asyncssh": "asyncssh",
          "fabric": "Fabric", "parallel-ssh": "parallel-ssh", "dbclient": "dbclient"}
TRANSFERS = ("sftp", "scp", "scp-O")


def _anchor(cell):
    return "out-%s-%s" % (cell["client"], cell["op"])


def _short(cell, op):
    s = cell["status"]
    if s == "na":
        return "n/a"
    if s == "fail":
        return "FAIL"
    mb = cell.get("mbps") or {}
    if op in TRANSFERS and mb:
        return "ok %s/%s" % (_num(mb.get("up")), _num(mb.get("down")))
    if cell.get("login_ms") is not None and op == "exec":
        return "ok %dms" % cell["login_ms"]
    return "ok"


def _num(v):
    return "?" if v is None else ("%.1f" % v if v < 100 else "%d" % v)


def text(m):
    """The plain-text matrix: exec shows the login ms, transfers up/down MB/s; then the algorithms
    each client negotiated and every red cell's reason."""
    t = m["target"]
    ops = m["ops"]
    w = max(14, max(len(o) for o in ops) + 2)
    where = "%s:%s" % (t["host"], t["port"]) if t["host"] else "not reached"
    lines = ["ussh interop: target %s (%s) %s" % (t["name"], where, t["banner"]),
             "host key %s; %d B per transfer; %s; %.0f s" % (t["fingerprint"], t["transfer_bytes"], m["started"],
                                                              m["seconds"])]
    if t.get("setup_error"):
        lines.append("TARGET FAILED: " + t["setup_error"].splitlines()[0])
    lines.append("")
    lines.append("%-13s" % "" + "".join("%-*s" % (w, o) for o in ops))
    for c in m["clients"]:
        lines.append("%-13s" % LABELS.get(c, c) + "".join("%-*s" % (w, _short(m["cells"][c][o], o)) for o in ops))
    n = {s: sum(1 for row in m["cells"].values() for cell in row.values() if cell["status"] == s)
         for s in ("pass", "fail", "na")}
    lines.append("")
    lines.append("%d pass, %d fail, %d n/a   (exec: login ms; sftp/scp: MB/s up/down)" % (n["pass"], n["fail"], n["na"]))
    lines.append("negotiated (kex / host key / cipher / mac):")
    for c in m["clients"]:
        algs = next((cell["algs"] for cell in m["cells"][c].values() if cell.get("algs")), None)
        if algs:
            lines.append("  %-13s %s / %s / %s / %s" % (LABELS.get(c, c), algs.get("kex", "?"), algs.get("hostkey", "?"),
                                                         algs.get("cipher", "?"), algs.get("mac", "?")))
        else:
            lines.append("  %-13s not reported" % LABELS.get(c, c))
    if "dbclient" in m["clients"]:
        lines.append("dbclient: the target's legacy_mac = 1 (--legacy-mac) lets it in with hmac-sha2-256 "
                     "(encrypt-and-MAC); ussh's default offers hmac-sha2-256-etm@openssh.com only")
    reds = [(c, o, cell["reason"]) for c, row in m["cells"].items() for o, cell in row.items() if cell["status"] == "fail"]
    if reds and t.get("setup_error"):
        lines.append("every cell is red: %s" % t["setup_error"].splitlines()[0])
    elif reds:
        lines.append("red cells:")
        lines += ["  %s / %s: %s" % (LABELS.get(c, c), o, r) for c, o, r in reds]
    return "\n".join(lines)


_CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 6px;vertical-align:top}
th{background:#eee}td.pass{background:#d7f5d7}td.fail{background:#f8c9c9}td.na{background:#e4e4e4;color:#666}
td small{display:block;color:#444;font-size:11px}pre{background:#f6f6f6;padding:6px;overflow:auto;max-height:30em;
font-size:12px;white-space:pre-wrap}code{font-size:12px}dt{font-weight:bold}"""


def _cell_html(cell):
    e = html.escape
    s = cell["status"]
    if s == "na":
        return '<td class="na" title="%s">n/a<small>%s</small></td>' % (e(cell["reason"]), e(cell["reason"]))
    parts = []
    if s == "fail":
        parts.append('<a href="#%s"><b>FAIL</b></a><small>%s</small>' % (_anchor(cell), e(cell["reason"])))
    else:
        parts.append('<a href="#%s">pass</a>' % _anchor(cell))
    if cell.get("login_ms") is not None:
        parts.append('<small title="%s">login %s ms</small>' % (e(cell.get("login_note", "")), cell["login_ms"]))
    mb = cell.get("mbps") or {}
    if mb:
        parts.append("<small>up %s / down %s MB/s</small>" % (_num(mb.get("up")), _num(mb.get("down"))))
    a = cell.get("algs") or {}
    if a:
        parts.append("<small>%s</small>" % e(" ".join(str(a.get(k, "?")) for k in ("kex", "hostkey", "cipher", "mac"))))
    for note in cell.get("notes") or ():
        parts.append("<small>%s</small>" % e(note))
    if cell.get("seconds") is not None:
        parts.append("<small>%s s (bound %s s)</small>" % (cell["seconds"], cell.get("bound")))
    return '<td class="%s">%s</td>' % (s, "".join(parts))


def html_page(m):
    e = html.escape
    t = m["target"]
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>ussh interop: %s</title><style>%s</style>"
           "</head><body>" % (e(t["name"]), _CSS)]
    out.append("<h1>ussh interop matrix: %s</h1>" % e(t["name"]))
    out.append("<dl><dt>target</dt><dd>%s:%s</dd><dt>banner</dt><dd><code>%s</code></dd>"
               "<dt>host key</dt><dd><code>%s</code></dd><dt>run</dt><dd>%s, %s s, %s B per transfer, %s cells at once</dd>"
               % (e(str(t["host"])), t["port"], e(t["banner"]), e(t["fingerprint"]), e(m["started"]), m["seconds"],
                  t["transfer_bytes"], t["jobs"]))
    if t.get("setup_error"):
        out.append("<dt>target failed</dt><dd><pre>%s</pre></dd>" % e(t["setup_error"]))
    out.append("</dl>")
    if t.get("algorithms"):
        out.append("<h2>The target's algorithms (its KEXINIT)</h2><table>")
        for k, v in t["algorithms"].items():
            out.append("<tr><th>%s</th><td><code>%s</code></td></tr>" % (e(k), e(", ".join(v))))
        out.append("</table>")
    out.append("<h2>Matrix</h2><table><tr><th></th>%s</tr>" % "".join("<th>%s</th>" % e(o) for o in m["ops"]))
    for c in m["clients"]:
        out.append("<tr><th>%s</th>%s</tr>" % (e(LABELS.get(c, c)), "".join(_cell_html(m["cells"][c][o]) for o in m["ops"])))
    out.append("</table><p>login: per cell, what was timed is in the tooltip; MB/s: the transfer alone where the "
               "client lets it be timed (OpenSSH: from authentication to the command's end).</p>")
    out.append("<h2>Client output</h2>")
    for c in m["clients"]:
        for o in m["ops"]:
            cell = m["cells"][c][o]
            if cell["status"] == "na":
                continue
            out.append('<details id="%s"%s><summary>%s / %s: %s</summary><pre>%s</pre></details>' % (
                _anchor(cell), " open" if cell["status"] == "fail" else "", e(LABELS.get(c, c)), e(o), e(cell["status"]),
                e((cell.get("output") or "")[-16000:])))
    if t.get("server_log"):
        out.append("<h2>Server output</h2><pre>%s</pre>" % e(t["server_log"]))
    out.append("</body></html>")
    return "\n".join(out)


def write(m, folder):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "report.json"), "w") as f:
        json.dump(m, f, indent=1)
    with open(os.path.join(folder, "report.html"), "w") as f:
        f.write(html_page(m))
    with open(os.path.join(folder, "report.txt"), "w") as f:
        f.write(text(m) + "\n")
