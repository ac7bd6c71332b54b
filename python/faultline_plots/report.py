"""Links the charts from report.md and writes the self-contained report.html."""
from __future__ import annotations

import base64
import html
import os
import re

BEGIN = "<!-- faultline-plots:begin -->"
END = "<!-- faultline-plots:end -->"

CSS = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #1b1b1b; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
th { background: #f0f2f5; }
tr:nth-child(even) td { background: #fafafa; }
code { background: #f3f3f3; padding: 0 3px; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
h1 { border-bottom: 2px solid #c33; padding-bottom: 0.2em; }
"""


def plots_section(index: list[dict], plots_dir_name: str = "plots") -> str:
    lines = [BEGIN, "", "## Plots", ""]
    if not index:
        lines.append("(no charts apply to these results)")
    for entry in index:
        lines += [f"### {entry['title']}", "", f"![{entry['title']}]({plots_dir_name}/{entry['file']})", ""]
    lines.append(END)
    return "\n".join(lines) + "\n"


def link_plots(report_path: str, index: list[dict], notes: list[str] = ()) -> None:
    """Puts the plots section into report.md, replacing an earlier one (idempotent)."""
    text = open(report_path, encoding="utf-8").read() if os.path.exists(report_path) else ""
    section = plots_section(index)
    if notes:
        section = section.replace("## Plots\n\n", "## Plots\n\n" + "".join(f"*{n}*\n\n" for n in notes), 1)
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(report_path, "w", encoding="utf-8") as out:
        out.write(text)


def write_html(folder: str, report_path: str, html_path: str) -> None:
    """report.md as one HTML file: tables rendered, every local image inlined as a data: URI."""
    import markdown

    text = open(report_path, encoding="utf-8").read()
    body = markdown.markdown(text, extensions=["tables", "fenced_code"])

    def inline(match: re.Match) -> str:
        src = html.unescape(match.group(2))
        path = os.path.join(folder, src)
        if src.startswith(("data:", "http:", "https:")) or not os.path.isfile(path):
            return match.group(0)
        kind = "image/svg+xml" if src.endswith(".svg") else "image/png"
        data = base64.b64encode(open(path, "rb").read()).decode("ascii")
        return f'{match.group(1)}"data:{kind};base64,{data}"'

    body = re.sub(r'(<img[^>]*?src=)"([^"]+)"', inline, body)
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), "Faultline report")
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")
    with open(html_path, "w", encoding="utf-8") as out:
        out.write(page)
