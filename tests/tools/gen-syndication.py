#!/usr/bin/env python3
"""Builds a held-out syndication corpus from ../shared/corpus/reuters21578.

Not wire-dev: other stories (a later slice of Reuters-21578), other outlets
and transformations wire-dev does not show: an outlet's intro sentence before
the lede, heavy word substitution and drops (re-translation), paragraphs
reordered with one dropped, a 180-character truncation with an ellipsis,
HTML with a "Related:" block in the middle, and an updated copy with a
paragraph inserted. Every story of the chosen days is published by the wire,
so the many templated briefs and recurring headlines of those days test
precision. Writes OUT/{files.txt,truth.tsv,feeds/...}, the layout
`feedfold eval` reads.

usage: gen-syndication.py OUT [--seed N] [--stories N]
"""
import argparse
import html
import json
import os
import random
import re
from datetime import datetime, timedelta, timezone

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "corpus", "reuters21578")

SYN = {
    "said": "stated", "company": "firm", "increase": "rise", "rose": "climbed", "fell": "dropped",
    "market": "marketplace", "government": "administration", "expected": "anticipated",
    "year": "twelve months", "prices": "costs", "sales": "turnover", "shares": "stock",
    "agreed": "accepted", "announced": "disclosed", "major": "large", "officials": "authorities",
    "reported": "posted", "plan": "scheme", "talks": "negotiations", "higher": "greater",
    "lower": "reduced", "million": "mln", "percent": "pct", "billion": "bln",
}
INTROS = [
    "Here is what you need to know today.",
    "In a development closely watched by investors, news broke on the wires this morning.",
    "Our business desk has the details of the latest report.",
]


def stories(files):
    for name in files:
        raw = open(os.path.join(ROOT, name), encoding="latin-1").read()
        for m in re.finditer(r"<REUTERS[^>]*NEWID=\"(\d+)\">(.*?)</REUTERS>", raw, re.S):
            sid, body = m.group(1), m.group(2)
            t = re.search(r"<TITLE>(.*?)</TITLE>", body, re.S)
            b = re.search(r"<BODY>(.*?)</BODY>", body, re.S)
            d = re.search(r"<DATE>\s*(\d+-\w+-\d+ \d+:\d+:\d+)", body)
            if not (t and b and d):
                continue
            text = html.unescape(b.group(1)).replace("\x03", "").replace("Reuter", "").strip()
            paras = [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s{3,}", text)]
            paras = [p for p in paras if p]
            if not paras:
                continue
            try:
                date = datetime.strptime(d.group(1), "%d-%b-%Y %H:%M:%S").replace(tzinfo=timezone.utc)
            except ValueError:
                continue  # a few dates in the collection are malformed
            yield sid, html.unescape(t.group(1)).strip().title(), paras, date


def reword(paras, rng, rate):
    out = []
    for p in paras:
        words = []
        for w in p.split():
            key = w.lower().strip(".,")
            if key in SYN and rng.random() < 0.8:
                words.append(SYN[key] + w[len(w.rstrip(".,")):])
            elif rng.random() < rate and not any(c.isdigit() for c in w):
                continue
            else:
                words.append(w)
        out.append(" ".join(words))
    return out


def transform(kind, title, paras, rng):
    if kind == "intro":
        return "Markets: " + title, [rng.choice(INTROS)] + paras
    if kind == "retranslate":
        return "What we know: " + " ".join(reword([title], rng, 0.1)), reword(paras, rng, 0.12)
    if kind == "reorder":
        rest = paras[1:]
        rng.shuffle(rest)
        return title.upper(), [paras[0]] + rest[: max(0, len(rest) - 1)] if len(rest) > 1 else paras
    if kind == "trunc180":
        text = " ".join(paras)
        return title.capitalize(), [text[:180].rsplit(" ", 1)[0] + "\u2026"]
    if kind == "related":
        mid = max(1, len(paras) // 2)
        return title + " | Globe Daily", paras[:mid] + ["Related: Markets wrap | Currency outlook | Read our newsletter"] + paras[mid:]
    if kind == "update":
        ins = "The company did not immediately respond to a request for further comment."
        return "UPDATE 2-" + title, paras[:1] + [ins] + paras[1:]
    raise ValueError(kind)


OUTLETS = [("intro", "rss"), ("retranslate", "atom"), ("reorder", "rss"), ("trunc180", "json"), ("related", "atom"), ("update", "rss")]


def esc(s):
    return html.escape(s, quote=True)


def write_feed(path, outlet, fmt, items):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    self_url = f"https://{outlet}.heldout.test/feed"
    if fmt == "json":
        doc = {"version": "https://jsonfeed.org/version/1.1", "title": outlet, "feed_url": self_url,
               "items": [{"id": i["guid"], "url": i["link"], "title": i["title"], "content_text": "\n".join(i["paras"]),
                          "date_published": i["date"].strftime("%Y-%m-%dT%H:%M:%SZ")} for i in items]}
        open(path, "w", encoding="utf-8").write(json.dumps(doc, indent=1))
        return
    if fmt == "atom":
        entries = "".join(
            f"<entry><title>{esc(i['title'])}</title><id>{esc(i['guid'])}</id><link rel=\"alternate\" href=\"{esc(i['link'])}\"/>"
            f"<published>{i['date'].strftime('%Y-%m-%dT%H:%M:%SZ')}</published><content type=\"html\">"
            + esc("<div class=\"story\">" + "".join(f"<p>{esc(p)}</p>" for p in i["paras"]) + "</div>")
            + "</content></entry>\n" for i in items)
        open(path, "w", encoding="utf-8").write(
            f"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{outlet}</title>"
            f"<id>{self_url}</id><link rel=\"self\" href=\"{self_url}\"/>\n{entries}</feed>\n")
        return
    rows = "".join(
        f"<item><title>{esc(i['title'])}</title><link>{esc(i['link'])}</link><guid isPermaLink=\"false\">{esc(i['guid'])}</guid>"
        f"<pubDate>{i['date'].strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate><description>"
        + esc("".join(f"<p>{esc(p)}</p>" for p in i["paras"])) + "</description></item>\n" for i in items)
    open(path, "w", encoding="utf-8").write(
        f"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel><title>{outlet}</title>"
        f"<link>https://{outlet}.heldout.test/</link><atom:link rel=\"self\" href=\"{self_url}\"/>\n{rows}</channel></rss>\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--stories", type=int, default=600)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    # Reuters-21578 repeats some stories word for word under new ids: keep one.
    seen, all_stories = set(), []
    for st in stories(["reut2-017.sgm", "reut2-018.sgm", "reut2-019.sgm"]):
        key = " ".join(st[2])[:300]
        if key not in seen and len(all_stories) < a.stories:
            seen.add(key)
            all_stories.append(st)
    base = min(s[3] for s in all_stories)
    shift = datetime(2026, 6, 1, tzinfo=timezone.utc) - base.replace(hour=0, minute=0, second=0, microsecond=0)
    feeds = {}  # (outlet, day) -> items
    truth = []
    for sid, title, paras, date in all_stories:
        date = date + shift
        link = f"https://wire.heldout.test/story/{sid}"
        feeds.setdefault(("wire", "rss", date.date()), []).append(
            {"guid": link, "link": link, "title": title, "paras": paras, "date": date})
        truth.append((link, link, f"s{sid}", "wire", "original"))
        if len(" ".join(paras)) < 200 or rng.random() < 0.35:
            continue  # briefs and a third of stories: wire only
        for kind, fmt in rng.sample(OUTLETS, rng.randint(1, 4)):
            t, p = transform(kind, title, paras, rng)
            when = date + timedelta(minutes=rng.randint(5, 30 * 60))
            guid = f"tag:{kind}.heldout.test,2026:{sid}"
            link2 = f"https://{kind}.heldout.test/n/{sid}?utm_source=feed&utm_medium=rss"
            feeds.setdefault((kind, fmt, when.date()), []).append({"guid": guid, "link": link2, "title": t, "paras": p, "date": when})
            truth.append((guid, link2, f"s{sid}", kind, kind))
    files = []
    for (outlet, fmt, day), items in sorted(feeds.items(), key=lambda kv: (kv[0][2], kv[0][0])):
        rel = f"feeds/{outlet}/{day}.{'json' if fmt == 'json' else 'xml'}"
        write_feed(os.path.join(a.out, rel), outlet, fmt, sorted(items, key=lambda i: i["date"], reverse=True))
        files.append(rel)
    open(os.path.join(a.out, "files.txt"), "w").write("\n".join(files) + "\n")
    with open(os.path.join(a.out, "truth.tsv"), "w") as f:
        f.write("# guid\tlink\tstory\toutlet\ttransform\n")
        for row in truth:
            f.write("\t".join(row) + "\n")
    print(f"{len(truth)} entries, {len(all_stories)} stories, {len(files)} files in {a.out}")


if __name__ == "__main__":
    main()
